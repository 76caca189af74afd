// The 2D view: every exact activation region of /regions, the exact decision
// boundary, the data, and a formula per region on hover or tap. Small maps are SVG
// polygons; large ones a canvas under the same SVG overlay. Both zoom and pan
// (viewport.js) and find the region under the pointer with one picking index.

import { affine, num, pattern } from "./format.js";
import { classParts, switchingSet } from "./geometry.js";
import { regionCanvas } from "./canvas2d.js";
import { valueLegend } from "./legend.js";
import { classColor, viridis } from "./palette.js";
import { boundingBoxes, pickingIndex } from "./picking.js";
import { VALUE_TINT, regionGradient, valueScale } from "./shading.js";
import { axes, el, keyboardStepping, marker, scale } from "./svg.js";
import { viewport } from "./viewport.js";

const WIDTH = 560;
const HEIGHT = 480;
const MARGIN = { left: 58, right: 14, top: 12, bottom: 44 };
/** Above this many regions the map is drawn on a canvas, not as SVG polygons. */
export const SVG_MAX_REGIONS = 3000;
const LINEAR_REGION_SHADES = 256;
const GOLDEN = 0.6180339887498949;
let figures = 0;

function plotArea(box) {
  const [[x0, y0], [x1, y1]] = box;
  let width = WIDTH - MARGIN.left - MARGIN.right;
  let height = HEIGHT - MARGIN.top - MARGIN.bottom;
  const ratio = (y1 - y0) / (x1 - x0);
  // Equal units on both axes unless the box is very elongated.
  if (ratio >= 1 / 3 && ratio <= 3) {
    if (ratio * width > height) width = height / ratio;
    else height = ratio * width;
  }
  const left = MARGIN.left + (WIDTH - MARGIN.left - MARGIN.right - width) / 2;
  const top = MARGIN.top;
  // The picture is as tall as its plot: no empty band under a wide box.
  return { left, top, width, height, total: top + height + MARGIN.bottom };
}

function scalesOf(area, view) {
  const [[x0, y0], [x1, y1]] = view;
  return {
    x: scale(x0, x1, area.left, area.left + area.width),
    y: scale(y0, y1, area.top + area.height, area.top),
  };
}

function pathOf(segments, x, y) {
  return segments.map(([[a, b], [c, d]]) => `M${x(a).toFixed(2)},${y(b).toFixed(2)}L${x(c).toFixed(2)},${y(d).toFixed(2)}`).join("");
}

function pointsAttr(points, x, y) {
  return points.map(([a, b]) => `${x(a).toFixed(2)},${y(b).toFixed(2)}`).join(" ");
}

/** What hovering or selecting region `r` tells: pattern and affine formula(s). */
export function regionInfo(regions, r, { classes, sizes, task }) {
  const g = regions.gradient(r);
  const c = regions.intercept(r);
  let formulas;
  if (task === "regression") formulas = g.map((row, k) => affine(row, c[k], g.length > 1 ? `y${k + 1}` : "y"));
  else if (g.length === 1) formulas = [`${affine(g[0], c[0], "logit")} (class ${classes ? classes[1] : 1} where > 0)`];
  else formulas = g.map((row, k) => affine(row, c[k], `z(${classes ? classes[k] : k})`));
  return {
    title: `Region ${r + 1} of ${regions.n_regions} · linear region ${regions.linearRegion[r] + 1} of ${regions.n_linear_regions}`,
    pattern: regions.pattern(r) === null ? "(still decoding)" : pattern(regions.pattern(r), sizes),
    formulas,
    region: r,
  };
}

/** How the regions are filled: one of a few flat colours, value gradients, or classes. */
function fillPlan(regions, model, colorBy) {
  if (colorBy === "class" && model.task === "classification") return { kind: "class" };
  if (colorBy === "value") {
    const shading = valueScale(regions, model.task, model.classes);
    if (shading) return { kind: "value", scale: shading };
    if (model.task === "classification") return { kind: "class" };
  }
  // Linear regions in golden-ratio steps along viridis (neighbours differ), in 256
  // shades, so that a canvas fills each shade as one path.
  const palette = Array.from({ length: LINEAR_REGION_SHADES }, (_, k) => viridis(0.15 + (0.85 * (k + 0.5)) / LINEAR_REGION_SHADES, 0.55));
  const index = new Uint16Array(regions.n_regions);
  for (let r = 0; r < regions.n_regions; r++) index[r] = Math.floor(((regions.linearRegion[r] * GOLDEN) % 1) * LINEAR_REGION_SHADES);
  return { kind: "flat", palette, index };
}

/** The regions as SVG polygons in the coordinates of the whole box (zoom is a transform). */
function svgRegions(group, defs, regions, plan, x, y, id) {
  const n = regions.n_regions;
  if (plan.kind === "class") {
    const fills = el("g", { class: "class-areas", "aria-hidden": "true" }, group);
    for (let r = 0; r < n; r++) {
      for (const part of classParts(regions.polygon(r), regions.gradient(r), regions.intercept(r))) {
        el("path", { d: `M${pointsAttr(part.points, x, y).replaceAll(" ", "L")}Z`, fill: classFill(part.cls) }, fills);
      }
    }
  }
  const layer = el("g", { class: "regions" }, group);
  for (let r = 0; r < n; r++) {
    let fill = "transparent";
    if (plan.kind === "flat") fill = plan.palette[plan.index[r]];
    else if (plan.kind === "value") {
      const shade = regionGradient(regions, r, x, y, plan.scale);
      if (shade.flat) fill = shade.flat;
      else {
        const gradient = el("linearGradient", { id: `${id}-g${r}`, gradientUnits: "userSpaceOnUse", x1: shade.from[0], y1: shade.from[1], x2: shade.to[0], y2: shade.to[1] }, defs);
        for (const [t, color] of shade.stops) el("stop", { offset: t, "stop-color": color }, gradient);
        fill = `url(#${id}-g${r})`;
      }
    }
    el("polygon", { points: pointsAttr(regions.polygon(r), x, y), class: "region", fill, "data-index": r }, layer);
  }
}

function classFill(cls) {
  return classColor(cls, 0.55);
}

/**
 * Draw a region map into `figure` and return a handle for highlights.
 * @param {HTMLElement} figure
 * @param {object} ctx - {regions (regionmap.js), weights, model, dataset, colorBy, label, onInfo}
 */
export function drawRegions(figure, ctx) {
  const started = performance.now();
  const { regions, weights, model, dataset, colorBy } = ctx;
  const id = `map${++figures}`;
  const sizes = weights.coefs.slice(0, -1).map((w) => w[0].length);
  const info = { classes: model.classes, sizes, task: model.task };
  const area = plotArea(regions.box);
  const base = scalesOf(area, regions.box);
  const useCanvas = regions.n_regions > SVG_MAX_REGIONS;
  const frame = document.createElement("div");
  frame.className = "map-frame";
  const svg = el("svg", {
    viewBox: `0 0 ${WIDTH} ${area.total}`,
    class: "map",
    role: "group",
    tabindex: 0,
    "aria-label": `${ctx.label}: ${regions.n_regions} regions. Arrow keys step through them; plus and minus zoom, Shift and an arrow pan, 0 resets.`,
    "data-model-id": model.id,
    "data-n-regions": regions.n_regions,
    "data-renderer": useCanvas ? "canvas" : "svg",
  });
  frame.appendChild(svg);
  const controls = zoomButtons(frame);
  figure.replaceChildren(frame);
  const defs = el("defs", {}, svg);
  const clip = el("clipPath", { id: `${id}-clip` }, defs);
  el("rect", { x: area.left, y: area.top, width: area.width, height: area.height }, clip);

  const phases = {};
  let clock = performance.now();
  const lap = (name) => {
    const now = performance.now();
    phases[name] = Math.round(now - clock);
    clock = now;
  };
  const boxes = boundingBoxes(regions);
  const index = pickingIndex(regions, boxes);
  lap("index");
  const plan = fillPlan(regions, model, colorBy);
  lap("plan");
  let raster = null;
  let zoomed = null;
  if (useCanvas) raster = regionCanvas(frame, svg, regions, boxes, plan);
  else {
    const clipped = el("g", { "clip-path": `url(#${id}-clip)` }, svg);
    zoomed = el("g", { class: "zoomed" }, clipped);
    svgRegions(zoomed, defs, regions, plan, base.x, base.y, id);
  }
  if (plan.kind === "value") valueLegend(figure, plan.scale, VALUE_TINT);

  // Everything drawn in the current view's pixels: redrawn on each zoom or pan.
  const live = el("g", { class: "live" }, svg);
  const overlay = el("g", { "clip-path": `url(#${id}-clip)` }, live);
  let highlighted = [];
  let current = -1;
  let view = regions.box;
  let scales = base;

  function drawOverlay() {
    overlay.replaceChildren();
    const { x, y } = scales;
    const boundary = regions.decision_boundary;
    if (boundary && boundary.segments.length) {
      const d = pathOf(boundary.segments, x, y);
      el("path", { d, class: "boundary-halo" }, overlay);
      el("path", { d, class: "boundary" }, overlay);
    }
    if (highlighted.length) el("path", { d: pathOf(highlighted, x, y), class: "neuron-line" }, overlay);
    if (dataset) drawData(overlay, dataset, model, x, y, view, ctx.heldOut);
    if (current >= 0) el("polygon", { class: "selected", points: pointsAttr(regions.polygon(current), x, y) }, overlay);
    live.querySelector(".axes")?.remove();
    axes(live, x, y, regions.axis_names || ["x1", "x2"]);
  }

  function render(next) {
    view = next;
    scales = scalesOf(area, view);
    const [[x0, y0], [x1, y1]] = view;
    svg.dataset.viewBox = [x0, y0, x1, y1].join(" ");
    if (raster) raster.draw(scales.x, scales.y, area, view);
    else {
      // base -> current is a scale and a shift on each axis.
      const sx = (scales.x(1) - scales.x(0)) / (base.x(1) - base.x(0));
      const sy = (scales.y(1) - scales.y(0)) / (base.y(1) - base.y(0));
      const tx = scales.x(0) - sx * base.x(0);
      const ty = scales.y(0) - sy * base.y(0);
      zoomed.setAttribute("transform", `matrix(${sx} 0 0 ${sy} ${tx} ${ty})`);
    }
    drawOverlay();
    controls.level.textContent = `${num(view === regions.box ? 1 : (regions.box[1][0] - regions.box[0][0]) / (x1 - x0), 3)}×`;
  }

  function select(r, { announce = true } = {}) {
    current = r;
    drawOverlay();
    if (r >= 0 && announce) ctx.onInfo(regionInfo(regions, r, info));
  }
  const pickAt = (point) => (point ? index.pick(point[0], point[1]) : -1);
  const vp = viewport({
    svg,
    box: regions.box,
    area,
    onChange: render,
    onHover(point, event) {
      const r = pickAt(point);
      if (r !== current) select(r, { announce: r >= 0 });
      // From the input event to the answer shown (the benchmarks read it).
      svg.dataset.hoverMs = (performance.now() - event.timeStamp).toFixed(2);
    },
    onTap(point) {
      const r = pickAt(point);
      select(r, { announce: r >= 0 });
      svg.dataset.tapped = r;
    },
  });
  keyboardStepping(svg, regions.n_regions, () => current, (r, options) => {
    select(r, options);
    if (r < 0) return;
    // Keep the selected region in sight when zoomed in.
    const px = (boxes[4 * r] + boxes[4 * r + 2]) / 2;
    const py = (boxes[4 * r + 1] + boxes[4 * r + 3]) / 2;
    const [[x0, y0], [x1, y1]] = vp.view;
    if (px < x0 || px > x1 || py < y0 || py > y1) {
      const [w, h] = [x1 - x0, y1 - y0];
      vp.set([[px - w / 2, py - h / 2], [px + w / 2, py + h / 2]]);
    }
  });
  controls.zoomIn.addEventListener("click", () => vp.zoom(1.5));
  controls.zoomOut.addEventListener("click", () => vp.zoom(1 / 1.5));
  controls.reset.addEventListener("click", () => vp.reset());
  lap("setup");
  render(regions.box);
  lap("render");
  svg.dataset.phases = JSON.stringify(phases);
  regions.completed?.then(() => {
    if (current >= 0) ctx.onInfo(regionInfo(regions, current, info));
  });
  if (raster) {
    // The canvas follows the overlay's size (a window resized, a phone turned).
    let size = `${svg.clientWidth}x${svg.clientHeight}`;
    new ResizeObserver(() => {
      // Its first call (on observing) finds the size just drawn at: nothing to do.
      const now = `${svg.clientWidth}x${svg.clientHeight}`;
      if (now !== size) raster.draw(scales.x, scales.y, area, view);
      size = now;
    }).observe(svg);
  }
  svg.dataset.drawMs = (performance.now() - started).toFixed(1);
  // After the next paint: the time from the answer's arrival to the map on screen.
  requestAnimationFrame(() =>
    setTimeout(() => {
      const now = performance.now();
      if (regions.timing) svg.dataset.responseToDrawnMs = (now - regions.timing.receivedAt).toFixed(1);
      svg.dataset.drawn = "true";
    }, 0),
  );

  return {
    svg,
    viewport: vp,
    pick: (x, y) => index.pick(x, y),
    /** Draw where hidden unit (layer, unit) switches; returns a sentence about it. */
    highlightUnit(layerNumber, unit) {
      highlighted = [];
      if (layerNumber === null) {
        drawOverlay();
        return "";
      }
      if (!regions.complete) return "the map's patterns are still being decoded; press it again in a moment";
      const diagnostics = regions.diagnostics;
      const i = diagnostics.layer.findIndex((l, k) => l === layerNumber && diagnostics.unit[k] === unit);
      let sentence;
      if (i >= 0 && diagnostics.dead_on_domain[i]) sentence = "it is dead on this box (never active), so it has no switching line here and none is drawn";
      else if (i >= 0 && diagnostics.always_active_on_domain[i]) sentence = "it is active everywhere in this box, so it has no switching line here and none is drawn";
      else {
        const found = switchingSet(regions, weights, layerNumber, unit);
        highlighted = found.segments;
        if (found.kind === "none") sentence = "it never switches inside this box";
        else if (found.kind === "line") sentence = "it switches along one straight line (its pre-activation is zero there)";
        else sentence = found.pieces === 1 ? "it switches along one straight line" : `it switches along a bent line of ${found.pieces} straight pieces`;
      }
      drawOverlay();
      return sentence;
    },
    describe: (r) => regionInfo(regions, r, info),
    numbers: { regions: regions.n_regions, bound: regions.bound, linear: regions.n_linear_regions },
    format: num,
  };
}

/** The data as markers, those inside the view only; held-out rows (a Set of indices) hollow. */
function drawData(parent, dataset, model, x, y, view, heldOutRows) {
  const points = el("g", { class: "points", "aria-hidden": "true" }, parent);
  const [[x0, y0], [x1, y1]] = view;
  const index = new Map((model.classes || []).map((label, k) => [JSON.stringify(label), k]));
  const ys = dataset.y.map(Number);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of ys) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  dataset.X.forEach(([a, b], i) => {
    if (a < x0 || a > x1 || b < y0 || b > y1) return;
    const heldOut = Boolean(heldOutRows?.has(i));
    if (model.task === "classification") marker(points, x(a), y(b), { cls: index.get(JSON.stringify(dataset.y[i])) ?? 0, heldOut });
    else marker(points, x(a), y(b), { color: viridis((ys[i] - lo) / (hi - lo || 1)), heldOut });
  });
}

function zoomButtons(frame) {
  const bar = document.createElement("div");
  bar.className = "zoom-controls";
  bar.setAttribute("role", "group");
  bar.setAttribute("aria-label", "Zoom");
  const button = (text, label) => {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.setAttribute("aria-label", label);
    bar.appendChild(b);
    return b;
  };
  const zoomIn = button("+", "Zoom in");
  const zoomOut = button("\u2212", "Zoom out");
  const reset = button("Reset", "Reset the zoom");
  const level = document.createElement("span");
  level.className = "zoom-level";
  level.setAttribute("aria-live", "polite");
  bar.appendChild(level);
  frame.appendChild(bar);
  return { zoomIn, zoomOut, reset, level };
}
