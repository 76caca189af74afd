// The regions of a large map on a canvas under the SVG overlay (axes, boundary,
// data, selection), drawn in the overlay's own user units so both line up at any
// size and zoom. Polygons sharing a colour are filled as one path; edges are drawn
// only when regions are big enough on screen to show them.

import { classParts } from "./geometry.js";
import { classColor } from "./palette.js";
import { packed, rasterize } from "./raster.js";
import { regionGradient } from "./shading.js";

const EDGE_MIN_PIXELS = 60; // mean on-screen region area (px²) above which edges show
/** Above this many regions in view, pixels are filled directly (raster.js), not paths. */
export const RASTER_MIN_REGIONS = 8000;

/**
 * @param {HTMLElement} frame - positioned parent of the canvas and the SVG
 * @param {SVGSVGElement} svg - the overlay whose user units the canvas shares
 * @param {object} map - a region map (regionmap.js)
 * @param {Float64Array} boxes - bounding boxes (picking.js)
 * @param {object} plan - {kind: "flat", palette, index} | {kind: "value", scale} | {kind: "class"}
 */
export function regionCanvas(frame, svg, map, boxes, plan) {
  const canvas = document.createElement("canvas");
  canvas.className = "map-raster";
  canvas.setAttribute("aria-hidden", "true");
  frame.insertBefore(canvas, svg);
  const n = map.offsets.length - 1;
  const { points, vertexIds, offsets } = map;
  let pixels = new Float64Array(points.length);

  function place() {
    const rect = svg.getBoundingClientRect();
    const outer = frame.getBoundingClientRect();
    const dpr = window.devicePixelRatio || 1;
    canvas.style.left = `${rect.left - outer.left}px`;
    canvas.style.top = `${rect.top - outer.top}px`;
    canvas.style.width = `${rect.width}px`;
    canvas.style.height = `${rect.height}px`;
    const width = Math.max(1, Math.round(rect.width * dpr));
    const height = Math.max(1, Math.round(rect.height * dpr));
    if (canvas.width !== width) canvas.width = width;
    if (canvas.height !== height) canvas.height = height;
    const m = svg.getScreenCTM();
    return [dpr * m.a, dpr * m.b, dpr * m.c, dpr * m.d, dpr * (m.e - rect.left), dpr * (m.f - rect.top)];
  }

  function trace(path, r) {
    const start = offsets[r];
    const end = offsets[r + 1];
    let v = 2 * vertexIds[start];
    path.moveTo(pixels[v], pixels[v + 1]);
    for (let k = start + 1; k < end; k++) {
      v = 2 * vertexIds[k];
      path.lineTo(pixels[v], pixels[v + 1]);
    }
    path.closePath();
  }

  /** The colour of a region (packed), or -1 and the colour at a point, for raster.js. */
  function pixelColours() {
    const { gradientData: gd, interceptData: ic, nOut } = map;
    if (plan.kind === "flat") {
      const palette = plan.palette.map(packed);
      return [(r) => palette[plan.index[r]], null];
    }
    if (plan.kind === "value") {
      const { lo, hi, probability, shades } = plan.scale;
      const lut = Uint32Array.from(shades, packed);
      const top = lut.length - 1;
      return [
        () => -1,
        (r, x, y) => {
          let v = gd[2 * r * nOut] * x + gd[2 * r * nOut + 1] * y + ic[r * nOut];
          if (probability) v = 1 / (1 + Math.exp(-v));
          const t = (v - lo) / (hi - lo);
          return lut[Math.round((t < 0 ? 0 : t > 1 ? 1 : t) * top)];
        },
      ];
    }
    const colours = Array.from({ length: Math.max(2, nOut) }, (_, k) => packed(classColor(k, 0.55)));
    const classAt = (r, x, y) => {
      if (nOut === 1) return gd[2 * r] * x + gd[2 * r + 1] * y + ic[r] > 0 ? 1 : 0;
      let best = 0;
      let top = -Infinity;
      for (let o = 0; o < nOut; o++) {
        const z = gd[2 * (r * nOut + o)] * x + gd[2 * (r * nOut + o) + 1] * y + ic[r * nOut + o];
        if (z > top) (top = z), (best = o);
      }
      return best;
    };
    return [
      (r) => {
        // One colour when every vertex is on one side of the boundary (convexity).
        let cls = -1;
        for (let k = offsets[r]; k < offsets[r + 1]; k++) {
          const v = 2 * vertexIds[k];
          const here = classAt(r, points[v], points[v + 1]);
          if (cls >= 0 && here !== cls) return -1;
          cls = here;
        }
        return colours[cls];
      },
      (r, x, y) => colours[classAt(r, x, y)],
    ];
  }

  /**
   * Draw the regions inside `view` with the scales x, y (input -> user units).
   * @returns {number} how many regions were drawn
   */
  function draw(x, y, area, view) {
    const transform = place();
    const ctx = canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(...transform);
    ctx.save();
    ctx.beginPath();
    ctx.rect(area.left, area.top, area.width, area.height);
    ctx.clip();
    const [ax, kx] = [x(0), x(1) - x(0)];
    const [ay, ky] = [y(0), y(1) - y(0)];
    if (pixels.length !== points.length) pixels = new Float64Array(points.length);
    for (let i = 0; i < points.length; i += 2) {
      pixels[i] = ax + kx * points[i];
      pixels[i + 1] = ay + ky * points[i + 1];
    }
    const [[vx0, vy0], [vx1, vy1]] = view;
    const visible = [];
    for (let r = 0; r < n; r++) {
      if (boxes[4 * r + 2] < vx0 || boxes[4 * r] > vx1 || boxes[4 * r + 3] < vy0 || boxes[4 * r + 1] > vy1) continue;
      visible.push(r);
    }
    canvas.dataset.mode = visible.length > RASTER_MIN_REGIONS ? "pixels" : "paths";
    if (visible.length > RASTER_MIN_REGIONS) {
      ctx.restore();
      const [a, , , d, e, f] = transform;
      const device = [a * kx, 0, 0, d * ky, a * ax + e, d * ay + f];
      const clip = [
        Math.max(0, Math.round(a * area.left + e)),
        Math.max(0, Math.round(d * area.top + f)),
        Math.min(canvas.width, Math.round(a * (area.left + area.width) + e)),
        Math.min(canvas.height, Math.round(d * (area.top + area.height) + f)),
      ];
      const image = ctx.createImageData(canvas.width, canvas.height);
      const [flat, perPixel] = pixelColours();
      rasterize(image, map, visible, device, clip, flat, perPixel);
      ctx.putImageData(image, 0, 0);
      canvas.dataset.drawn = visible.length;
      return visible.length;
    }
    if (plan.kind === "flat") {
      const paths = plan.palette.map(() => null);
      for (const r of visible) {
        const c = plan.index[r];
        trace((paths[c] ||= new Path2D()), r);
      }
      paths.forEach((path, c) => {
        if (!path) return;
        ctx.fillStyle = plan.palette[c];
        ctx.fill(path);
      });
    } else if (plan.kind === "value") {
      for (const r of visible) {
        const shade = regionGradient(map, r, x, y, plan.scale);
        if (shade.flat) ctx.fillStyle = shade.flat;
        else {
          const gradient = ctx.createLinearGradient(shade.from[0], shade.from[1], shade.to[0], shade.to[1]);
          for (const [t, color] of shade.stops) gradient.addColorStop(t, color);
          ctx.fillStyle = gradient;
        }
        const path = new Path2D();
        trace(path, r);
        ctx.fill(path);
      }
    } else {
      // Classes: a region wholly on one side of the boundary is filled whole; the
      // few the boundary crosses are cut exactly along it.
      const paths = new Map();
      const pathOf = (cls) => paths.get(cls) || paths.set(cls, new Path2D()).get(cls);
      for (const r of visible) {
        const gradients = map.gradient(r);
        const intercepts = map.intercept(r);
        let cls = -1;
        let mixed = false;
        for (let k = offsets[r]; k < offsets[r + 1] && !mixed; k++) {
          const v = 2 * vertexIds[k];
          const logits = gradients.map((g, o) => g[0] * points[v] + g[1] * points[v + 1] + intercepts[o]);
          const here = logits.length === 1 ? (logits[0] > 0 ? 1 : 0) : logits.indexOf(Math.max(...logits));
          if (cls >= 0 && here !== cls) mixed = true;
          cls = here;
        }
        if (!mixed) {
          trace(pathOf(cls), r);
          continue;
        }
        for (const part of classParts(map.polygon(r), gradients, intercepts)) {
          const path = pathOf(part.cls);
          part.points.forEach(([px, py], k) => (k ? path.lineTo(ax + kx * px, ay + ky * py) : path.moveTo(ax + kx * px, ay + ky * py)));
          path.closePath();
        }
      }
      for (const [cls, path] of paths) {
        ctx.fillStyle = classColor(cls, 0.55);
        ctx.fill(path);
      }
    }
    if ((area.width * area.height) / Math.max(visible.length, 1) >= EDGE_MIN_PIXELS) {
      const edges = new Path2D();
      for (const r of visible) trace(edges, r);
      ctx.strokeStyle = plan.kind === "class" ? "rgba(255, 255, 255, 0.7)" : "#ffffff";
      ctx.lineWidth = 0.6;
      ctx.stroke(edges);
    }
    ctx.restore();
    canvas.dataset.drawn = visible.length;
    return visible.length;
  }

  return { canvas, draw };
}
