// "How it adds up" (one input): every last-layer unit's contribution to the output
// (its outgoing weight times its activation: a bent line), their sum, which is the
// output, and the function the data were drawn from where it is known. All exact
// polylines through the piece ends of /knots?include=units.

import { num, unitName } from "./format.js";
import { CLASS_COLORS } from "./palette.js";
import { axes, el, scale } from "./svg.js";

const WIDTH = 560;
const HEIGHT = 340;
const MARGIN = { left: 58, right: 14, top: 12, bottom: 44 };
const DASHES = ["", "6 3", "2 3", "8 3 2 3"];

// The functions the built-in one-input data sets are drawn from (core/datasets.py).
const GENERATORS = {
  square: { label: "x²", f: (t) => t * t },
  abs: { label: "|x|", f: (t) => Math.abs(t) },
  sine: { label: "sin(x)", f: Math.sin },
  step: { label: "1 if x ≥ 0 else 0", f: (t) => (t >= 0 ? 1 : 0) },
  sawtooth: { label: "x − floor(x)", f: (t) => t - Math.floor(t) },
};
// The presets built to approximate a known function (seed_networks.json).
const PRESET_TARGETS = { square_from_four_relus: "square", abs_from_two_relus: "abs" };

/**
 * The function a view should be compared with, or null: the generator of a built-in
 * data set, or the function a preset network was built to draw.
 * @param {{data?: object, preset?: string}} shown
 */
export function targetFunction(shown) {
  const kind = shown.data?.generator?.kind ?? PRESET_TARGETS[shown.preset] ?? null;
  return kind && GENERATORS[kind] ? { kind, ...GENERATORS[kind] } : null;
}

/**
 * The per-piece contributions of /knots?include=units, as plain arrays.
 * @returns {{slope: number[][], intercept: number[][], bias: number} | null}
 *   slope[p][j] and intercept[p][j]: unit j's contribution to output 0 on piece p
 */
export function contributionsOf(knots, output = 0) {
  const per = knots.contributions;
  if (!Array.isArray(per) || per.length !== knots.n_pieces) return null;
  const bias = Array.isArray(knots.output_bias) ? knots.output_bias : per[0].output_bias ?? knots.output_bias?.[0];
  const first = Array.isArray(bias) && Array.isArray(bias[0]) ? bias[0] : bias;
  return {
    slope: per.map((c) => c.gradient[output].map(Number)),
    intercept: per.map((c) => c.intercept[output].map(Number)),
    bias: Number(Array.isArray(first) ? first[output] : first),
  };
}

function polyline(parent, points, x, y, attrs) {
  return el(
    "polyline",
    {
      points: points.map(([t, v]) => `${x(t).toFixed(2)},${y(v).toFixed(2)}`).join(" "),
      // The exact values drawn, for readers and tests: "x,value x,value ...".
      "data-xy": points.map(([t, v]) => `${t},${v}`).join(" "),
      ...attrs,
    },
    parent,
  );
}

/**
 * Draw the contributions of a one-input model into `figure`; list them in `legend`.
 * @param {HTMLElement} figure
 * @param {HTMLElement} legend
 * @param {object} ctx - {knots, model, weights, target, mode: "overlaid" | "stacked"}
 * @returns {boolean} whether there was anything to draw
 */
export function drawContributions(figure, legend, ctx) {
  const { knots, model, weights, target } = ctx;
  const parts = contributionsOf(knots);
  legend.replaceChildren();
  if (!parts) {
    figure.replaceChildren();
    return false;
  }
  const nUnits = parts.slope[0].length;
  const lastLayer = weights.coefs.length - 1;
  const stacked = ctx.mode === "stacked";
  // Piece ends: every curve is exact as a polyline through them.
  const ends = [knots.piece_lo[0], ...knots.piece_hi];
  const pieceAt = (k) => Math.min(Math.max(k - 1, 0), knots.n_pieces - 1);
  const valueAt = (j, k, t) => parts.slope[pieceAt(k)][j] * t + parts.intercept[pieceAt(k)][j];
  // At a knot both neighbouring pieces agree (the function is continuous): use the left one.
  const unitCurves = Array.from({ length: nUnits }, (_, j) => ends.map((t, k) => [t, valueAt(j, k, t)]));
  const sum = ends.map((t, k) => [t, parts.bias + unitCurves.reduce((s, curve) => s + curve[k][1], 0)]);
  const running = [];
  let acc = ends.map(() => parts.bias);
  for (let j = 0; j < nUnits; j++) {
    const before = acc;
    acc = acc.map((v, k) => v + unitCurves[j][k][1]);
    running.push({ before: ends.map((t, k) => [t, before[k]]), after: ends.map((t, k) => [t, acc[k]]) });
  }
  const samples = target ? Array.from({ length: 241 }, (_, i) => knots.lo + ((knots.hi - knots.lo) * i) / 240) : [];
  const targetCurve = samples.map((t) => [t, target.f(t)]);

  const values = [
    ...sum.map(([, v]) => v),
    ...targetCurve.map(([, v]) => v),
    ...(stacked ? running.flatMap((r) => r.after.map(([, v]) => v)) : unitCurves.flat().map(([, v]) => v)),
    0,
  ];
  let [lo, hi] = [Math.min(...values), Math.max(...values)];
  if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
  const pad = 0.06 * (hi - lo);
  const x = scale(knots.lo, knots.hi, MARGIN.left, WIDTH - MARGIN.right);
  const y = scale(lo - pad, hi + pad, HEIGHT - MARGIN.bottom, MARGIN.top);
  const what = model.task === "classification" ? "logit" : "y";
  const svg = el("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: "map adds-up",
    role: "img",
    "aria-label": `How it adds up: ${nUnits} unit contributions ${stacked ? "stacked" : "overlaid"}, their sum (the output)${target ? ` and the target ${target.label}` : ""}`,
    "data-mode": ctx.mode,
    "data-output-bias": String(parts.bias),
    "data-x-scale": `${knots.lo},${knots.hi},${MARGIN.left},${WIDTH - MARGIN.right}`,
    "data-y-scale": `${lo - pad},${hi + pad},${HEIGHT - MARGIN.bottom},${MARGIN.top}`,
  });
  figure.replaceChildren(svg);
  axes(svg, x, y, [(knots.axis_names || ["x"])[0], `contribution to ${what}`]);
  el("line", { x1: x(knots.lo), x2: x(knots.hi), y1: y(0), y2: y(0), class: "zero-line" }, svg);

  const color = (j) => CLASS_COLORS[(j + 1) % CLASS_COLORS.length];
  const dash = (j) => DASHES[Math.floor(j / CLASS_COLORS.length) % DASHES.length];
  const bands = el("g", { class: "stack-bands" }, svg);
  const curves = el("g", { class: "unit-curves" }, svg);
  for (let j = 0; j < nUnits; j++) {
    const points = stacked ? running[j].after : unitCurves[j];
    if (stacked) {
      const band = [...running[j].after, ...running[j].before.slice().reverse()];
      el("polygon", { points: band.map(([t, v]) => `${x(t).toFixed(2)},${y(v).toFixed(2)}`).join(" "), fill: color(j), class: "stack-band" }, bands);
    }
    polyline(curves, points, x, y, {
      class: "unit-curve",
      stroke: color(j),
      "stroke-dasharray": dash(j) || undefined,
      "data-unit": j,
      "data-role": stacked ? "running-sum" : "contribution",
    });
  }
  if (target) polyline(svg, targetCurve, x, y, { class: "target-curve", "data-role": "target", "data-kind": target.kind });
  polyline(svg, sum, x, y, { class: "sum-curve", "data-role": "sum" });

  const entry = (swatch, text) => {
    const item = document.createElement("li");
    const mark = el("svg", { viewBox: "0 0 24 8", width: 24, height: 8, "aria-hidden": "true" }, item);
    el("line", { x1: 0, x2: 24, y1: 4, y2: 4, ...swatch }, mark);
    item.append(` ${text}`);
    legend.appendChild(item);
  };
  entry({ class: "sum-curve" }, `the output: the sum of the contributions plus the output bias ${num(parts.bias)}`);
  if (target) entry({ class: "target-curve" }, `the target ${target.label}`);
  const W = weights.coefs[lastLayer];
  for (let j = 0; j < nUnits; j++) {
    const zero = unitCurves[j].every(([, v]) => v === 0);
    const weight = W && W[j] ? ` (weight ${num(W[j][0])})` : "";
    entry(
      { stroke: color(j), "stroke-width": 2.5, "stroke-dasharray": dash(j) || undefined },
      `${unitName(lastLayer, j)}${weight}${zero ? ": contributes nothing on this interval" : ""}`,
    );
  }
  return true;
}
