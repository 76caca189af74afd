// The training chart: the loss at every iteration (the model's loss curve) above the
// number of pieces or regions at each recorded snapshot, on one iteration axis, with
// the snapshot being shown marked on both.

import { num } from "./format.js";
import { axes, el, scale } from "./svg.js";

const WIDTH = 560;
const PANEL = 120;
const GAP = 44;
const MARGIN = { left: 58, right: 14, top: 10, bottom: 40 };

/**
 * Draw the chart into `figure` and return `mark(index)`, which moves the marker to
 * snapshot `index`.
 * @param {HTMLElement} figure
 * @param {object} training - {lossCurve: number[] | null, snapshots: [{index, iteration, loss, n_pieces | n_regions}], nIter}
 */
export function drawTrainingChart(figure, training) {
  const { snapshots } = training;
  const lossCurve = training.lossCurve || [];
  const countKey = snapshots.length && snapshots[0].n_regions !== undefined ? "n_regions" : "n_pieces";
  const counts = snapshots.map((s) => s[countKey]);
  const lastIteration = Math.max(training.nIter || 1, ...snapshots.map((s) => s.iteration), lossCurve.length, 1);
  const height = MARGIN.top + PANEL + GAP + PANEL + MARGIN.bottom;
  const svg = el("svg", {
    viewBox: `0 0 ${WIDTH} ${height}`,
    class: "map train-chart-svg",
    role: "img",
    "aria-label": `Loss and ${countKey === "n_regions" ? "region" : "piece"} count over ${lastIteration} iterations, ${snapshots.length} snapshots`,
    "data-count-key": countKey,
  });
  figure.replaceChildren(svg);
  const x = scale(1, Math.max(lastIteration, 2), MARGIN.left, WIDTH - MARGIN.right);

  // Loss: a log axis when it spans more than a factor of 30 (it usually does).
  const losses = [...lossCurve, ...snapshots.map((s) => s.loss)].filter((v) => Number.isFinite(v) && v > 0);
  const [lossLo, lossHi] = losses.length ? [Math.min(...losses), Math.max(...losses)] : [0.1, 1];
  const logScale = lossHi / lossLo > 30;
  const f = logScale ? Math.log10 : (v) => v;
  const top = scale(f(lossLo), f(lossHi) === f(lossLo) ? f(lossLo) + 1 : f(lossHi), MARGIN.top + PANEL, MARGIN.top);
  const lossAxes = axes(svg, x, top, ["", logScale ? "loss (log scale)" : "loss"]);
  // On the log axis the ticks are at log10 values: label them with the loss itself.
  if (logScale) {
    const labels = [...lossAxes.querySelectorAll(".tick-label")].filter((label) => label.getAttribute("text-anchor") === "end");
    labels.forEach((label) => {
      const y = Number(label.getAttribute("y")) - 4;
      label.textContent = num(10 ** top.invert(y), 2);
    });
  }
  if (lossCurve.length) {
    const points = lossCurve.map((v, i) => `${x(i + 1).toFixed(2)},${top(f(Math.max(v, lossLo))).toFixed(2)}`);
    el("polyline", { points: points.join(" "), class: "loss-curve" }, svg);
  }
  const dots = el("g", { class: "snapshot-dots" }, svg);
  for (const s of snapshots) {
    if (Number.isFinite(s.loss) && s.loss > 0) el("circle", { cx: x(s.iteration), cy: top(f(s.loss)), r: 2.5, class: "snapshot-dot" }, dots);
  }

  // Pieces or regions at each snapshot: a step line (the count holds until the next).
  const bottomTop = MARGIN.top + PANEL + GAP;
  const countHi = Math.max(...counts, 1);
  const below = scale(0, countHi * 1.08, bottomTop + PANEL, bottomTop);
  axes(svg, x, below, ["iteration", countKey === "n_regions" ? "regions" : "pieces"]);
  if (snapshots.length) {
    const steps = [];
    snapshots.forEach((s, i) => {
      if (i > 0) steps.push(`${x(s.iteration).toFixed(2)},${below(counts[i - 1]).toFixed(2)}`);
      steps.push(`${x(s.iteration).toFixed(2)},${below(counts[i]).toFixed(2)}`);
    });
    el("polyline", { points: steps.join(" "), class: "count-curve", "data-counts": counts.join(",") }, svg);
  }
  const cursor = el("line", { y1: MARGIN.top, y2: bottomTop + PANEL, class: "snapshot-cursor" }, svg);
  const lossMark = el("circle", { r: 5, class: "snapshot-mark" }, svg);
  const countMark = el("circle", { r: 5, class: "snapshot-mark" }, svg);

  return function mark(index) {
    const s = snapshots[index];
    if (!s) return;
    const px = x(s.iteration);
    cursor.setAttribute("x1", px);
    cursor.setAttribute("x2", px);
    lossMark.setAttribute("cx", px);
    lossMark.setAttribute("cy", top(f(Math.max(s.loss, lossLo))));
    countMark.setAttribute("cx", px);
    countMark.setAttribute("cy", below(counts[index]));
    svg.dataset.index = String(index);
  };
}

/** "iteration 12 of 340 · loss 0.231 · 17 regions" for snapshot `s`. */
export function snapshotSentence(s, nIter) {
  const count = s.n_regions !== undefined ? `${s.n_regions} region${s.n_regions === 1 ? "" : "s"}` : `${s.n_pieces} piece${s.n_pieces === 1 ? "" : "s"}`;
  return `iteration ${s.iteration} of ${nIter} · loss ${num(s.loss)} · ${count}`;
}
