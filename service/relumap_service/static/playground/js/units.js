// Small multiples of the hidden units (two inputs): each unit's activation over the
// plane, exact on every region of /regions?include=units (an affine function on each
// region, drawn as a linear gradient along its own gradient), and the line or bent
// lines where the unit switches.

import { unitName } from "./format.js";
import { el, scale } from "./svg.js";

const SIZE = 132;
const PAD = 2;
// Thumbnails cost a path per region and unit (merged by paint): beyond this, stop.
const MAX_SHADED = 20000;
const MAX_UNITS = 64;

// Colour ramps, piecewise linear in sRGB (as SVG interpolates gradients), so that a
// gradient with a stop at every ramp knot shows an affine function exactly.
const SEQUENTIAL = [
  [0, [255, 255, 255]],
  [1, [180, 70, 0]],
];
const DIVERGING = [
  [-1, [0, 90, 160]],
  [0, [255, 255, 255]],
  [1, [180, 70, 0]],
];

function rampColor(ramp, t) {
  const u = Math.min(Math.max(t, ramp[0][0]), ramp[ramp.length - 1][0]);
  let k = 0;
  while (k < ramp.length - 2 && u > ramp[k + 1][0]) k++;
  const [[t0, c0], [t1, c1]] = [ramp[k], ramp[k + 1]];
  const f = (u - t0) / (t1 - t0);
  const rgb = c0.map((c, i) => Math.round(c + (c1[i] - c) * f));
  return `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
}

/** The per-region pre-activation maps of hidden layer `layer` (from 1), or null. */
export function unitMapsOf(regions, r, layer) {
  const entry = regions.units?.[r]?.[layer - 1];
  return entry && Array.isArray(entry.gradient) ? entry : null;
}

function branchSlope(weights, on) {
  if (weights.activation === "identity" || on) return 1;
  return weights.activation === "leaky_relu" ? weights.negative_slope : 0;
}

/** Region r's vertices, from the JSON answer or from a decoded region map's accessor. */
function polygonOf(regions, r) {
  if (typeof regions.polygon === "function") return regions.polygon(r);
  return regions.vertices.slice(regions.offsets[r], regions.offsets[r + 1]);
}

/**
 * One thumbnail: unit `unit` of layer `layer` over every region.
 * @returns {SVGElement}
 */
function thumbnail(regions, weights, layer, unit, ids) {
  const [[x0, y0], [x1, y1]] = regions.box;
  const ratio = (y1 - y0) / (x1 - x0);
  const height = Math.round(Math.min(Math.max(SIZE * ratio, SIZE / 3), SIZE * 3));
  const x = scale(x0, x1, PAD, SIZE - PAD);
  const y = scale(y0, y1, height - PAD, PAD);
  const kx = (SIZE - 2 * PAD) / (x1 - x0);
  const ky = -(height - 2 * PAD) / (y1 - y0);
  const n = regions.offsets.length - 1;
  const shapes = [];
  let [lo, hi] = [0, 0];
  for (let r = 0; r < n; r++) {
    const maps = unitMapsOf(regions, r, layer);
    const points = polygonOf(regions, r);
    const [a, c] = [maps.gradient[unit], maps.intercept[unit]];
    const pre = points.map(([p, q]) => a[0] * p + a[1] * q + c);
    // The unit keeps one sign on the whole region (the map is cut where it switches):
    // its sign at the region's centre of vertices says which branch it is on.
    const centre = points.reduce(([p, q], [u, v]) => [p + u / points.length, q + v / points.length], [0, 0]);
    const s = branchSlope(weights, a[0] * centre[0] + a[1] * centre[1] + c > 0);
    const act = pre.map((v) => s * v);
    lo = Math.min(lo, ...act);
    hi = Math.max(hi, ...act);
    shapes.push({ points, a: [s * a[0], s * a[1]], c: s * c, act, pre });
  }
  const diverging = lo < 0;
  const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
  const ramp = diverging ? DIVERGING : SEQUENTIAL;
  const color = (v) => rampColor(ramp, v / m);

  const svg = el("svg", { viewBox: `0 0 ${SIZE} ${height}`, class: "unit-map", "aria-hidden": "true" });
  const defs = el("defs", {}, svg);
  const fills = el("g", { class: "unit-regions" }, svg);
  // Regions with the same affine activation share one paint and one path: a
  // first-layer unit's map is the same on every region where it is on, so its
  // thumbnail is two paths, not one element per region. Subpaths of one path meet
  // without the hairline seams of separate polygons.
  const corners = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
  const groups = new Map(); // paint key -> {fill, d: []}
  const zero = [];
  shapes.forEach(({ points, a, c, act, pre }) => {
    const screen = points.map(([p, q]) => [x(p), y(q)]);
    const flat = Math.max(...act) - Math.min(...act) <= 1e-12 * m || (a[0] === 0 && a[1] === 0);
    const key = flat ? color((Math.max(...act) + Math.min(...act)) / 2) : `${a[0]} ${a[1]} ${c}`;
    if (!groups.has(key)) {
      let fill = key;
      if (!flat) {
        // The gradient spans the map's values over the whole box, so every region
        // with this map can use it; a stop at each ramp knot keeps it exact.
        const values = corners.map(([p, q]) => a[0] * p + a[1] * q + c);
        const [vmin, vmax] = [Math.min(...values), Math.max(...values)];
        // In screen units the activation's gradient is (a0 / kx, a1 / ky).
        const g = [a[0] / kx, a[1] / ky];
        const span = (vmax - vmin) / (g[0] * g[0] + g[1] * g[1]);
        const [sx, sy] = [x(corners[values.indexOf(vmin)][0]), y(corners[values.indexOf(vmin)][1])];
        const id = `${ids}-${groups.size}`;
        const gradient = el(
          "linearGradient",
          { id, gradientUnits: "userSpaceOnUse", x1: sx, y1: sy, x2: sx + g[0] * span, y2: sy + g[1] * span },
          defs,
        );
        const stops = [vmin, ...ramp.map(([t]) => t * m).filter((v) => v > vmin && v < vmax), vmax];
        for (const v of stops) el("stop", { offset: (v - vmin) / (vmax - vmin), "stop-color": color(v) }, gradient);
        fill = `url(#${id})`;
      }
      groups.set(key, { fill, d: [] });
    }
    groups.get(key).d.push(`M${screen.map(([p, q]) => `${p.toFixed(2)},${q.toFixed(2)}`).join("L")}Z`);
    // Where the pre-activation is zero inside or on the edge of this region.
    const scaleOf = Math.max(...pre.map(Math.abs), 1e-300);
    const isZero = pre.map((v) => Math.abs(v) <= 1e-9 * scaleOf);
    const hits = [];
    for (let k = 0; k < pre.length; k++) {
      const next = (k + 1) % pre.length;
      if (isZero[k]) hits.push(screen[k]);
      else if (!isZero[next] && pre[k] * pre[next] < 0) {
        const t = pre[k] / (pre[k] - pre[next]);
        hits.push([screen[k][0] + t * (screen[next][0] - screen[k][0]), screen[k][1] + t * (screen[next][1] - screen[k][1])]);
      }
    }
    const distinct = hits.filter((h, i) => hits.findIndex((o) => Math.hypot(o[0] - h[0], o[1] - h[1]) < 1e-6) === i);
    if (distinct.length === 2) zero.push(distinct);
  });
  // The stroke in the fill's own paint covers the seams where two paints meet.
  for (const { fill, d } of groups.values()) el("path", { d: d.join(""), fill, stroke: fill }, fills);
  if (zero.length) {
    const d = zero.map(([[p, q], [s, t]]) => `M${p.toFixed(2)},${q.toFixed(2)}L${s.toFixed(2)},${t.toFixed(2)}`).join("");
    el("path", { d, class: "unit-zero" }, svg);
  }
  el("rect", { x: PAD, y: PAD, width: SIZE - 2 * PAD, height: height - 2 * PAD, class: "unit-frame" }, svg);
  svg.dataset.switchSegments = String(zero.length);
  // The drawing's scales, for readers and tests: data lo, hi -> pixel lo, hi.
  svg.dataset.xScale = `${x0},${x1},${PAD},${SIZE - PAD}`;
  svg.dataset.yScale = `${y0},${y1},${height - PAD},${PAD}`;
  svg.dataset.range = `${lo},${hi}`;
  return svg;
}

/**
 * Draw every hidden unit's thumbnail into `grid`; pressing one presses the unit's
 * neuron button (its switching set is then highlighted on the main map).
 * @param {HTMLElement} grid
 * @param {object} ctx - {regions, weights}
 * @returns {string} a sentence for the help line, empty when all is drawn
 */
export function drawUnitMaps(grid, { regions, weights }) {
  grid.replaceChildren();
  const sizes = weights.coefs.slice(0, -1).map((w) => w[0].length);
  const total = sizes.reduce((s, v) => s + v, 0);
  if (!regions.units || !regions.n_regions) return "This service gave no per-unit maps.";
  if (total > MAX_UNITS || total * regions.n_regions > MAX_SHADED) {
    return `${total} units over ${regions.n_regions} regions are too many to draw one by one here (at most ${MAX_UNITS} units and ${MAX_SHADED} unit-regions).`;
  }
  let serial = 0;
  sizes.forEach((size, l) => {
    const layer = l + 1;
    for (let unit = 0; unit < size; unit++) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "unit-thumb";
      button.dataset.layer = String(layer);
      button.dataset.unit = String(unit);
      const svg = thumbnail(regions, weights, layer, unit, `unit-grad-${serial++}`);
      const label = document.createElement("span");
      label.textContent = unitName(layer, unit);
      button.append(svg, label);
      const segments = Number(svg.dataset.switchSegments);
      button.setAttribute(
        "aria-label",
        `${unitName(layer, unit)}: ${segments ? "switches inside this box" : "never switches in this box"}; press to highlight it on the map`,
      );
      button.addEventListener("click", () => {
        const neuron = document.querySelector(`#neuron-list .neuron[data-layer="${layer}"][data-unit="${unit}"]`);
        if (neuron) neuron.click();
      });
      grid.appendChild(button);
    }
  });
  return "";
}
