// Zoom and pan of a 2D map: wheel, drag, pinch (two pointers), the +, − and reset
// buttons, and the keyboard (+, −, 0, Shift + arrows). The view is a box of the
// input plane inside the map's box; every change calls `onChange` once per frame.
// A press that does not move is a tap (a touch, a pen or a click): `onTap`.

const MAX_ZOOM = 2 ** 24; // far past pixel size, short of float64 trouble
const TAP_SLOP = 6; // CSS pixels a tap may wander

/**
 * @param {object} options
 * @param {SVGSVGElement} options.svg - the element that takes the gestures
 * @param {number[][]} options.box - [[x0, y0], [x1, y1]], the whole map
 * @param {{left: number, top: number, width: number, height: number}} options.area - the plot in SVG units
 * @param {(view: number[][]) => void} options.onChange
 * @param {(point: number[], event: PointerEvent) => void} options.onTap - point in input coordinates
 * @param {(point: number[]|null, event: PointerEvent) => void} options.onHover
 */
export function viewport({ svg, box, area, onChange, onTap, onHover }) {
  const [[X0, Y0], [X1, Y1]] = box;
  let view = [[X0, Y0], [X1, Y1]];
  let frame = 0;
  const pointers = new Map(); // pointerId -> {x, y, startX, startY} in client pixels
  let moved = false;

  function changed() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      onChange(view);
    });
  }

  /** Client pixels -> SVG user units. */
  function userPoint(clientX, clientY) {
    const m = svg.getScreenCTM();
    if (!m) return null;
    const p = new DOMPoint(clientX, clientY).matrixTransform(m.inverse());
    return [p.x, p.y];
  }

  /** SVG user units -> input coordinates under the current view. */
  function dataPoint(u) {
    const [[x0, y0], [x1, y1]] = view;
    return [x0 + ((u[0] - area.left) / area.width) * (x1 - x0), y1 - ((u[1] - area.top) / area.height) * (y1 - y0)];
  }

  function set(next) {
    let [[x0, y0], [x1, y1]] = next;
    const w = Math.min(x1 - x0, X1 - X0);
    const h = Math.min(y1 - y0, Y1 - Y0);
    // Stay inside the map: shift the view back in rather than show empty paper.
    x0 = Math.min(Math.max(x0, X0), X1 - w);
    y0 = Math.min(Math.max(y0, Y0), Y1 - h);
    view = [[x0, y0], [x0 + w, y0 + h]];
    changed();
  }

  /** Zoom by `factor` (> 1 in) about input point c, or about the view's centre. */
  function zoom(factor, c = null) {
    const [[x0, y0], [x1, y1]] = view;
    const zoomNow = (X1 - X0) / (x1 - x0);
    const target = Math.min(Math.max(zoomNow * factor, 1), MAX_ZOOM);
    const f = target / zoomNow;
    const [cx, cy] = c || [(x0 + x1) / 2, (y0 + y1) / 2];
    set([[cx - (cx - x0) / f, cy - (cy - y0) / f], [cx + (x1 - cx) / f, cy + (y1 - cy) / f]]);
  }

  /** Move the view by a fraction of its size. */
  function pan(fx, fy) {
    const [[x0, y0], [x1, y1]] = view;
    const dx = fx * (x1 - x0);
    const dy = fy * (y1 - y0);
    set([[x0 + dx, y0 + dy], [x1 + dx, y1 + dy]]);
  }

  function reset() {
    set([[X0, Y0], [X1, Y1]]);
  }

  svg.addEventListener(
    "wheel",
    (event) => {
      const u = userPoint(event.clientX, event.clientY);
      if (!u) return;
      event.preventDefault();
      const delta = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
      zoom(Math.exp(-delta * 0.002), dataPoint(u));
    },
    { passive: false },
  );

  svg.addEventListener("pointerdown", (event) => {
    if (event.pointerType === "mouse" && event.button !== 0) return;
    pointers.set(event.pointerId, { x: event.clientX, y: event.clientY, startX: event.clientX, startY: event.clientY });
    if (pointers.size === 1) moved = false;
    else moved = true; // a second finger: a pinch, never a tap
    svg.setPointerCapture?.(event.pointerId);
  });

  svg.addEventListener("pointermove", (event) => {
    const held = pointers.get(event.pointerId);
    if (!held) {
      if (event.pointerType === "mouse") {
        const u = userPoint(event.clientX, event.clientY);
        onHover(u ? dataPoint(u) : null, event);
      }
      return;
    }
    if (Math.hypot(event.clientX - held.startX, event.clientY - held.startY) > TAP_SLOP) moved = true;
    if (pointers.size === 1) {
      if (!moved) return;
      const before = userPoint(held.x, held.y);
      const after = userPoint(event.clientX, event.clientY);
      held.x = event.clientX;
      held.y = event.clientY;
      if (!before || !after) return;
      const [a, b] = [dataPoint(before), dataPoint(after)];
      const [[x0, y0], [x1, y1]] = view;
      set([[x0 + a[0] - b[0], y0 + a[1] - b[1]], [x1 + a[0] - b[0], y1 + a[1] - b[1]]]);
      return;
    }
    // Pinch: the two pointers' distance scales the view about their midpoint, which moves with them.
    const [p, q] = [...pointers.values()];
    const before = [(p.x + q.x) / 2, (p.y + q.y) / 2, Math.hypot(p.x - q.x, p.y - q.y)];
    held.x = event.clientX;
    held.y = event.clientY;
    const after = [(p.x + q.x) / 2, (p.y + q.y) / 2, Math.hypot(p.x - q.x, p.y - q.y)];
    const u0 = userPoint(before[0], before[1]);
    const u1 = userPoint(after[0], after[1]);
    if (!u0 || !u1 || !(before[2] > 0)) return;
    const [a, b] = [dataPoint(u0), dataPoint(u1)];
    const [[x0, y0], [x1, y1]] = view;
    view = [[x0 + a[0] - b[0], y0 + a[1] - b[1]], [x1 + a[0] - b[0], y1 + a[1] - b[1]]];
    zoom(after[2] / before[2], a);
  });

  function release(event) {
    const held = pointers.get(event.pointerId);
    if (!held) return;
    pointers.delete(event.pointerId);
    if (event.type === "pointerup" && pointers.size === 0 && !moved) {
      const u = userPoint(event.clientX, event.clientY);
      if (u) onTap(dataPoint(u), event);
    }
  }
  svg.addEventListener("pointerup", release);
  svg.addEventListener("pointercancel", release);
  svg.addEventListener("pointerleave", (event) => {
    if (event.pointerType === "mouse" && !pointers.size) onHover(null, event);
  });

  svg.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const arrows = { ArrowRight: [0.1, 0], ArrowLeft: [-0.1, 0], ArrowUp: [0, 0.1], ArrowDown: [0, -0.1] };
    if (event.key === "+" || event.key === "=") zoom(1.5);
    else if (event.key === "-" || event.key === "_") zoom(1 / 1.5);
    else if (event.key === "0") reset();
    else if (event.shiftKey && arrows[event.key]) pan(...arrows[event.key]);
    else return;
    event.preventDefault();
    event.stopImmediatePropagation(); // Shift + arrows pan; plain arrows step through regions
  });

  return {
    get view() {
      return view;
    },
    zoom,
    pan,
    reset,
    set,
    dataPoint,
    userPoint,
    /** How far in the view is zoomed (1: the whole box). */
    get zoomLevel() {
      return (X1 - X0) / (view[1][0] - view[0][0]);
    },
  };
}
