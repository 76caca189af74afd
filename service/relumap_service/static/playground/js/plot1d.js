// The 1D view: the data, the fitted function through its exact knots, its pieces
// shaded alternately, and each piece's slope and intercept on hover.

import { affine, num, pattern } from "./format.js";
import { sigmoid } from "./geometry.js";
import { CLASS_COLORS } from "./palette.js";
import { axes, el, keyboardStepping, marker, scale } from "./svg.js";

const WIDTH = 560;
const HEIGHT = 380;
const MARGIN = { left: 58, right: 14, top: 12, bottom: 44 };

function softmax(z) {
  const top = Math.max(...z);
  const e = z.map((v) => Math.exp(v - top));
  const total = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / total);
}

/** What hovering or selecting piece `p` tells: interval, pattern and formula(s). */
export function pieceInfo(knots, p, { classes, sizes, task }) {
  const slopes = knots.slopes[p];
  const intercepts = knots.intercepts[p];
  let formulas;
  if (task === "regression") formulas = slopes.map((s, k) => affine([s], intercepts[k], slopes.length > 1 ? `y${k + 1}` : "y"));
  else if (slopes.length === 1) formulas = [affine([slopes[0]], intercepts[0], "logit")];
  else formulas = slopes.map((s, k) => affine([s], intercepts[k], `z(${classes ? classes[k] : k})`));
  return {
    title: `Piece ${p + 1} of ${knots.n_pieces}: x from ${num(knots.piece_lo[p])} to ${num(knots.piece_hi[p])}`,
    pattern: pattern(knots.patterns[p], sizes),
    formulas,
  };
}

/**
 * Draw the pieces of a one-input model into `figure`.
 * @param {HTMLElement} figure
 * @param {object} ctx - {knots, weights, model, dataset, label, onInfo}
 */
export function drawKnots(figure, ctx) {
  const { knots, weights, model, dataset } = ctx;
  const sizes = weights.coefs.slice(0, -1).map((w) => w[0].length);
  const info = { classes: model.classes, sizes, task: model.task };
  const classifier = model.task === "classification";
  const nOut = knots.slopes[0].length;
  const logits = (p, t) => knots.slopes[p].map((s, k) => s * t + knots.intercepts[p][k]);
  // Curves: exact polylines through the piece ends for a regressor; a classifier's
  // probabilities are sampled within each piece (they are not linear).
  const curves = Array.from({ length: classifier && nOut === 1 ? 1 : nOut }, () => []);
  for (let p = 0; p < knots.n_pieces; p++) {
    const [a, b] = [knots.piece_lo[p], knots.piece_hi[p]];
    const steps = classifier ? 24 : 1;
    for (let s = p === 0 ? 0 : 1; s <= steps; s++) {
      const t = a + ((b - a) * s) / steps;
      const z = logits(p, t);
      const values = !classifier ? z : nOut === 1 ? [sigmoid(z[0])] : softmax(z);
      values.forEach((v, k) => curves[k].push([t, v]));
    }
  }
  const ys = curves.flat().map(([, v]) => v);
  if (dataset && !classifier) ys.push(...dataset.y.map(Number));
  let [lo, hi] = classifier ? [-0.05, 1.05] : [Math.min(...ys), Math.max(...ys)];
  if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
  const pad = classifier ? 0 : 0.06 * (hi - lo);
  const x = scale(knots.lo, knots.hi, MARGIN.left, WIDTH - MARGIN.right);
  const y = scale(lo - pad, hi + pad, HEIGHT - MARGIN.bottom, MARGIN.top);

  const svg = el("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: "map",
    role: "group",
    tabindex: 0,
    "aria-label": `${ctx.label}: ${knots.n_knots} knots, ${knots.n_pieces} pieces. Use the arrow keys to step through the pieces.`,
    "data-model-id": model.id,
    "data-n-knots": knots.n_knots,
  });
  figure.replaceChildren(svg);
  const [top, bottom] = [y(hi + pad), y(lo - pad)];
  const bands = el("g", { class: "pieces" }, svg);
  for (let p = 0; p < knots.n_pieces; p++) {
    const [a, b] = [x(knots.piece_lo[p]), x(knots.piece_hi[p])];
    el("rect", { x: a, y: top, width: Math.max(b - a, 0.5), height: bottom - top, class: `piece ${p % 2 ? "odd" : "even"}`, "data-index": p }, bands);
  }
  const highlight = el("g", { class: "highlight" }, svg);
  const points = el("g", { class: "points", "aria-hidden": "true" }, svg);
  if (dataset) {
    const index = new Map((model.classes || []).map((label, k) => [JSON.stringify(label), k]));
    const last = Math.max((model.classes || []).length - 1, 1);
    dataset.X.forEach(([a], i) => {
      if (classifier) {
        const k = index.get(JSON.stringify(dataset.y[i])) ?? 0;
        marker(points, x(a), y(k / last), { cls: k, size: 3.5, heldOut: Boolean(ctx.heldOut?.has(i)) });
      } else {
        marker(points, x(a), y(Number(dataset.y[i])), { color: "#9a9a9a", size: 3, heldOut: Boolean(ctx.heldOut?.has(i)) });
      }
    });
  }
  curves.forEach((curve, k) => {
    const color = classifier ? CLASS_COLORS[(nOut === 1 ? 1 : k) % CLASS_COLORS.length] : k === 0 ? "#0072B2" : CLASS_COLORS[(k + 1) % CLASS_COLORS.length];
    el("polyline", { points: curve.map(([t, v]) => `${x(t).toFixed(2)},${y(v).toFixed(2)}`).join(" "), class: "curve", stroke: color }, svg);
  });
  const knotGroup = el("g", { class: "knots" }, svg);
  knots.knots.forEach((t) => {
    const p = Math.min(knots.piece_hi.findIndex((h) => h >= t), knots.n_pieces - 1);
    const z = logits(Math.max(p, 0), t);
    const v = !classifier ? z[0] : nOut === 1 ? sigmoid(z[0]) : softmax(z)[0];
    el("line", { x1: x(t), x2: x(t), y1: bottom - 7, y2: bottom, class: "knot-tick" }, knotGroup);
    const dot = el("circle", { cx: x(t), cy: y(v), r: 4.5, class: "knot" }, knotGroup);
    el("title", {}, dot).textContent = `knot at x = ${num(t)}`;
  });
  axes(svg, x, y, [(knots.axis_names || ["x"])[0], classifier ? (nOut === 1 ? `P(class ${model.classes ? model.classes[1] : 1})` : "probability") : "y"]);
  const selected = el("rect", { class: "selected", x: 0, y: top, width: 0, height: bottom - top }, svg);

  let current = -1;
  function select(p, { announce = true } = {}) {
    current = p;
    if (p < 0) {
      selected.setAttribute("width", 0);
      return;
    }
    selected.setAttribute("x", x(knots.piece_lo[p]));
    selected.setAttribute("width", Math.max(x(knots.piece_hi[p]) - x(knots.piece_lo[p]), 0.5));
    if (announce) ctx.onInfo(pieceInfo(knots, p, info));
  }
  svg.addEventListener("pointermove", (event) => {
    const box = svg.getBoundingClientRect();
    const t = x.invert(((event.clientX - box.left) / box.width) * WIDTH);
    if (t < knots.lo || t > knots.hi) return;
    const p = Math.max(knots.piece_hi.findIndex((h) => h >= t), 0);
    if (p !== current) select(p);
  });
  svg.addEventListener("pointerleave", () => select(-1, { announce: false }));
  keyboardStepping(svg, knots.n_pieces, () => current, select);

  return {
    svg,
    highlightUnit(layer, unit) {
      highlight.replaceChildren();
      if (layer === null) return "";
      const where = knots.breakpoints.filter((_, i) => knots.breakpoint_layer[i] === layer && knots.breakpoint_unit[i] === unit);
      for (const t of where) el("line", { x1: x(t), x2: x(t), y1: top, y2: bottom, class: "neuron-line" }, highlight);
      if (!where.length) return "it never switches on this interval";
      return `it switches at x = ${where.map((t) => num(t)).join(", ")}`;
    },
    describe: (p) => pieceInfo(knots, p, info),
  };
}
