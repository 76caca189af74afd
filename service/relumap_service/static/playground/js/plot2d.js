// The 2D view: every exact activation region from /regions as an SVG polygon (not a
// raster), the exact decision boundary, the data, and a formula per region on hover.

import { affine, num, pattern } from "./format.js";
import { classParts, logitsAt, predictedClass, sigmoid, switchingEdges } from "./geometry.js";
import { classColor, linearRegionColor, viridis } from "./palette.js";
import { axes, el, keyboardStepping, marker, scale } from "./svg.js";

const WIDTH = 560;
const HEIGHT = 480;
const MARGIN = { left: 58, right: 14, top: 12, bottom: 44 };

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
  const total = top + height + MARGIN.bottom;
  return { x: scale(x0, x1, left, left + width), y: scale(y0, y1, top + height, top), total };
}

function pathOf(segments, x, y) {
  return segments.map(([[a, b], [c, d]]) => `M${x(a).toFixed(2)},${y(b).toFixed(2)}L${x(c).toFixed(2)},${y(d).toFixed(2)}`).join("");
}

function pointsAttr(points, x, y) {
  return points.map(([a, b]) => `${x(a).toFixed(2)},${y(b).toFixed(2)}`).join(" ");
}

/** What hovering or selecting region `r` tells: pattern and affine formula(s). */
export function regionInfo(regions, r, { classes, sizes, task }) {
  const g = regions.gradients[r];
  const c = regions.intercepts[r];
  let formulas;
  if (task === "regression") formulas = g.map((row, k) => affine(row, c[k], g.length > 1 ? `y${k + 1}` : "y"));
  else if (g.length === 1) formulas = [`${affine(g[0], c[0], "logit")} (class ${classes ? classes[1] : 1} where > 0)`];
  else formulas = g.map((row, k) => affine(row, c[k], `z(${classes ? classes[k] : k})`));
  return {
    title: `Region ${r + 1} of ${regions.n_regions} · linear region ${regions.linear_region[r] + 1} of ${regions.n_linear_regions}`,
    pattern: pattern(regions.patterns[r], sizes),
    formulas,
  };
}

/**
 * Draw a region map into `figure` and return a handle for highlights.
 * @param {HTMLElement} figure
 * @param {object} ctx - {regions, weights, model, dataset, colorBy, label, onInfo}
 */
export function drawRegions(figure, ctx) {
  const { regions, weights, model, dataset, colorBy } = ctx;
  const sizes = weights.coefs.slice(0, -1).map((w) => w[0].length);
  const info = { classes: model.classes, sizes, task: model.task };
  const { x, y, total } = plotArea(regions.box);
  const svg = el("svg", {
    viewBox: `0 0 ${WIDTH} ${total}`,
    class: "map",
    role: "group",
    tabindex: 0,
    "aria-label": `${ctx.label}: ${regions.n_regions} regions. Use the arrow keys to step through them.`,
    "data-model-id": model.id,
    "data-n-regions": regions.n_regions,
  });
  figure.replaceChildren(svg);
  const offsets = regions.offsets;
  const polygons = [];
  for (let r = 0; r < regions.n_regions; r++) polygons.push(regions.vertices.slice(offsets[r], offsets[r + 1]));

  // Exact class areas under the regions when colouring by class.
  if (colorBy === "class" && model.task === "classification") {
    const fills = el("g", { class: "class-areas", "aria-hidden": "true" }, svg);
    polygons.forEach((points, r) => {
      for (const part of classParts(points, regions.gradients[r], regions.intercepts[r])) {
        el("path", { d: `M${pointsAttr(part.points, x, y).replaceAll(" ", "L")}Z`, fill: classColor(part.cls, 0.55) }, fills);
      }
    });
  }
  let valueRange = null;
  if (colorBy === "value") {
    const values = polygons.map((_, r) => logitsAt(regions.interior_points[r], regions.gradients[r], regions.intercepts[r])[0]);
    valueRange = model.task === "classification" ? [0, 1] : [Math.min(...values), Math.max(...values)];
  }
  const layer = el("g", { class: "regions" }, svg);
  polygons.forEach((points, r) => {
    let fill = "transparent";
    if (colorBy === "linear_region" || (colorBy === "class" && model.task !== "classification")) {
      fill = linearRegionColor(regions.linear_region[r]);
    } else if (colorBy === "value") {
      let v = logitsAt(regions.interior_points[r], regions.gradients[r], regions.intercepts[r])[0];
      if (model.task === "classification") v = regions.gradients[r].length === 1 ? sigmoid(v) : 0;
      fill = viridis((v - valueRange[0]) / (valueRange[1] - valueRange[0] || 1), 0.3);
    }
    el("polygon", { points: pointsAttr(points, x, y), class: "region", fill, "data-index": r }, layer);
  });

  const boundary = regions.decision_boundary;
  if (boundary && boundary.segments.length) {
    const d = pathOf(boundary.segments, x, y);
    el("path", { d, class: "boundary-halo" }, svg);
    el("path", { d, class: "boundary" }, svg);
  }
  const highlight = el("g", { class: "highlight" }, svg);
  const points = el("g", { class: "points", "aria-hidden": "true" }, svg);
  if (dataset) {
    const index = new Map((model.classes || []).map((label, k) => [JSON.stringify(label), k]));
    const ys = dataset.y.map(Number);
    const [lo, hi] = [Math.min(...ys), Math.max(...ys)];
    dataset.X.forEach(([a, b], i) => {
      if (model.task === "classification") {
        marker(points, x(a), y(b), { cls: index.get(JSON.stringify(dataset.y[i])) ?? 0, heldOut: Boolean(ctx.heldOut?.has(i)) });
      } else {
        marker(points, x(a), y(b), { color: viridis((ys[i] - lo) / (hi - lo || 1)), heldOut: Boolean(ctx.heldOut?.has(i)) });
      }
    });
  }
  axes(svg, x, y, regions.axis_names || ["x1", "x2"]);
  const selected = el("polygon", { class: "selected", points: "" }, svg);

  let current = -1;
  function select(r, { announce = true } = {}) {
    current = r;
    if (r < 0) {
      selected.setAttribute("points", "");
      return;
    }
    selected.setAttribute("points", pointsAttr(polygons[r], x, y));
    if (announce) ctx.onInfo(regionInfo(regions, r, info));
  }
  svg.addEventListener("pointermove", (event) => {
    const target = event.target;
    if (target.classList && target.classList.contains("region")) {
      const r = Number(target.dataset.index);
      if (r !== current) select(r);
    }
  });
  svg.addEventListener("pointerleave", () => select(-1, { announce: false }));
  keyboardStepping(svg, regions.n_regions, () => current, select);

  return {
    svg,
    /** Draw where hidden unit (layer, unit) switches; returns a sentence about it. */
    highlightUnit(layerNumber, unit) {
      highlight.replaceChildren();
      if (layerNumber === null) return "";
      const segments = switchingEdges(regions, weights, layerNumber, unit);
      if (!segments.length) return "it never switches inside this box";
      el("path", { d: pathOf(segments, x, y), class: "neuron-line" }, highlight);
      return `it switches along ${segments.length} region edge${segments.length === 1 ? "" : "s"}`;
    },
    describe: (r) => regionInfo(regions, r, info),
    numbers: { regions: regions.n_regions, bound: regions.bound, linear: regions.n_linear_regions },
    format: num,
  };
}
