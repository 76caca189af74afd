// Small SVG helpers: elements, linear scales, ticks, axes and data markers.

import { num } from "./format.js";
import { CLASS_SHAPES, classColor } from "./palette.js";

const NS = "http://www.w3.org/2000/svg";

/** Create an SVG element with attributes, appended to `parent` when given. */
export function el(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  if (parent) parent.appendChild(node);
  return node;
}

/** A linear map from [d0, d1] to [r0, r1]. */
export function scale(d0, d1, r0, r1) {
  const k = (r1 - r0) / (d1 - d0 || 1);
  const map = (v) => r0 + (v - d0) * k;
  map.invert = (p) => d0 + (p - r0) / k;
  map.domain = [d0, d1];
  return map;
}

/** About `count` round tick values inside [lo, hi]. */
export function ticks(lo, hi, count = 6) {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => span / s <= count) || raw;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return out;
}

/** Draw x and y axes with ticks and labels around the plot area. */
export function axes(svg, x, y, labels) {
  const group = el("g", { class: "axes", "aria-hidden": "true" }, svg);
  const [left, right] = [x(x.domain[0]), x(x.domain[1])];
  const [bottom, top] = [y(y.domain[0]), y(y.domain[1])];
  el("rect", { x: left, y: top, width: right - left, height: bottom - top, class: "frame" }, group);
  for (const v of ticks(...x.domain)) {
    el("line", { x1: x(v), x2: x(v), y1: bottom, y2: bottom + 5, class: "tick" }, group);
    el("text", { x: x(v), y: bottom + 17, "text-anchor": "middle", class: "tick-label" }, group).textContent = num(v);
  }
  for (const v of ticks(...y.domain, 5)) {
    el("line", { x1: left - 5, x2: left, y1: y(v), y2: y(v), class: "tick" }, group);
    el("text", { x: left - 8, y: y(v) + 4, "text-anchor": "end", class: "tick-label" }, group).textContent = num(v);
  }
  el("text", { x: (left + right) / 2, y: bottom + 34, "text-anchor": "middle", class: "axis-label" }, group).textContent = labels[0];
  const ylabel = el("text", { x: 0, y: 0, "text-anchor": "middle", class: "axis-label" }, group);
  ylabel.setAttribute("transform", `translate(${left - 40} ${(top + bottom) / 2}) rotate(-90)`);
  ylabel.textContent = labels[1];
  return group;
}

/**
 * Draw one data point: a class's colour and shape, or a value's colour.
 * Points are circles, rects and paths, never polygons (polygons are regions).
 */
export function marker(parent, px, py, { cls = null, color = "#888", heldOut = false, size = 3.2 }) {
  const shape = cls === null ? "circle" : CLASS_SHAPES[cls % CLASS_SHAPES.length];
  const fill = heldOut ? "#fff" : cls === null ? color : classColor(cls);
  const stroke = heldOut ? (cls === null ? "#333" : classColor(cls)) : "#1a1a1a";
  const attrs = { fill, stroke, "stroke-width": heldOut ? 1.6 : 0.8, class: "point" };
  if (shape === "circle") return el("circle", { cx: px, cy: py, r: size, ...attrs }, parent);
  if (shape === "square") {
    return el("rect", { x: px - size, y: py - size, width: 2 * size, height: 2 * size, ...attrs }, parent);
  }
  const s = size * 1.25;
  const d =
    shape === "triangle"
      ? `M${px},${py - s}L${px + s},${py + s * 0.8}L${px - s},${py + s * 0.8}Z`
      : `M${px},${py - s}L${px + s},${py}L${px},${py + s}L${px - s},${py}Z`;
  return el("path", { d, ...attrs }, parent);
}

/**
 * Step through the pieces or regions of a map with the keyboard: arrows move,
 * Home and End jump, Escape clears.
 * @param {SVGElement} svg
 * @param {number} count - how many items there are
 * @param {() => number} current - the selected item, or -1
 * @param {(i: number, options?: object) => void} select
 */
export function keyboardStepping(svg, count, current, select) {
  svg.addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    const now = current();
    if (step) select(now < 0 ? 0 : (now + step + count) % count);
    else if (event.key === "Home") select(0);
    else if (event.key === "End") select(count - 1);
    else if (event.key === "Escape") select(-1, { announce: false });
    else return;
    event.preventDefault();
  });
}
