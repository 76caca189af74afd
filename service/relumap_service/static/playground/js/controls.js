// The fit form's controls, read into the fit request (network, solver, learning
// rate, batch size, train/test split, how many snapshots to record); the solver's
// own reason for stopping; the class legend and which points were held out.

import { showError } from "./errors.js";
import { CLASS_SHAPES, classColor } from "./palette.js";
import { el } from "./svg.js";

const $ = (id) => document.getElementById(id);

// What the service reports in GET /v1 once it records training; null before.
let maxSnapshots = null;

/** Remember the service's snapshot limit (GET /v1 `limits.snapshots`), if it has one. */
export function learnLimits(info) {
  const limit = info?.limits?.snapshots;
  maxSnapshots = Number.isInteger(limit) ? limit : null;
  const input = $("snapshots");
  if (maxSnapshots === null) {
    $("snapshots-help").textContent = "This service does not record training.";
    input.disabled = true;
  } else {
    input.max = String(maxSnapshots);
    $("snapshots-help").textContent = `Snapshots of the same run, to play it back; 0 for none (at most ${maxSnapshots}).`;
  }
}

/** Whether the service records snapshots and gives per-unit maps (the learning view). */
export function learningSupported() {
  return maxSnapshots !== null;
}

/** The number typed into control `id`, or null with the error shown next to it. */
export function numberOf(id, { integer = false } = {}) {
  const raw = $(id).value.trim();
  if (raw === "") {
    showError(id, "enter a number");
    return null;
  }
  const value = Number(raw);
  if (!Number.isFinite(value)) {
    showError(id, `“${raw}” is not a number`);
    return null;
  }
  // Integers are sent as typed; the service says what is wrong with 1.5.
  return integer && Number.isInteger(value) ? Math.trunc(value) : value;
}

function layerSizes() {
  const raw = $("layers").value.trim();
  if (!/^-?\d+(\s*,\s*-?\d+)*$/.test(raw)) {
    showError("layers", `write the sizes as whole numbers separated by commas, e.g. 16 or 8, 8 (got “${raw}”)`);
    return null;
  }
  return raw.split(",").map((part) => Number(part.trim()));
}

/** The fit request's settings (all but the data set), or null with the errors shown. */
export function fitSettings() {
  const settings = {
    task: $("task").value,
    hidden_layer_sizes: layerSizes(),
    activation: $("activation").value,
    alpha: numberOf("alpha"),
    max_iter: numberOf("max-iter", { integer: true }),
    random_state: numberOf("seed", { integer: true }),
  };
  const training = trainingSettings();
  return Object.values(settings).includes(null) || !training ? null : { ...settings, ...training };
}

/**
 * The training part of the fit request, or null (with the errors shown) when a
 * control does not hold a number. Values are sent as typed: the service says what
 * is out of range, next to the control.
 */
export function trainingSettings() {
  const settings = { solver: $("solver").value };
  const rate = numberOf("learning-rate");
  const percent = numberOf("train-percent");
  const batch = $("batch-size").value.trim();
  let batchSize = "auto";
  if (batch !== "" && batch !== "auto") {
    batchSize = Number(batch);
    if (!Number.isFinite(batchSize)) {
      showError("batch-size", `write “auto” or a whole number of samples (got “${batch}”)`);
      batchSize = null;
    }
  }
  if (rate === null || percent === null || batchSize === null) return null;
  settings.learning_rate_init = rate;
  // The page speaks of the share used for training; the API of the share held out.
  settings.test_fraction = Math.round(1e6 * (1 - percent / 100)) / 1e6;
  if (learningSupported()) {
    settings.batch_size = batchSize;
    const snapshots = numberOf("snapshots", { integer: true });
    if (snapshots === null) return null;
    settings.snapshots = snapshots;
  }
  return settings;
}

/** Unfold the training options when a shared URL set any of them away from its default. */
export function revealTraining() {
  const options = $("training-options");
  const initial = (select) => Math.max(0, [...select.options].findIndex((option) => option.defaultSelected));
  const changed = [...options.querySelectorAll("input, select")].some((control) =>
    control.tagName === "SELECT" ? control.selectedIndex !== initial(control) : control.value !== control.defaultValue,
  );
  if (changed) options.open = true;
}

/** lbfgs ignores the learning rate and the batch size: say so by disabling them. */
export function syncSolver() {
  const lbfgs = $("solver").value === "lbfgs";
  $("learning-rate").disabled = lbfgs;
  $("batch-size").disabled = lbfgs;
}

/**
 * The sentence that ends a fit: iterations and the solver's own reason for stopping
 * (a line-search failure is not a reason to raise the iteration limit).
 */
export function fitSentence(model) {
  const seconds = (model.timings?.run_seconds ?? 0).toFixed(2);
  const head = `Done: fitted in ${seconds} s, ${model.n_iter} iteration${model.n_iter === 1 ? "" : "s"}`;
  if (model.stop_reason) return `${head}. The solver stopped: ${model.stop_reason.replace(/[.\s]+$/, "")}.`;
  return `${head}${model.converged ? "" : " (the solver stopped before it converged)"}.`;
}

/** The rows held out for the test metrics, as a set of data set row indices. */
export function heldOutRows(model) {
  return new Set(model?.test_indices || []);
}

/**
 * The data set the maps draw: every point, the held-out ones marked (drawn hollow),
 * or only the training points when "show test data" is off.
 */
export function shownData(data, model) {
  const heldOut = heldOutRows(model);
  // The switch only means something when some points were held out.
  $("show-test-field").hidden = !data || !heldOut.size;
  if (!data) return { data: null, heldOut: null };
  if (!heldOut.size) return { data, heldOut: null };
  if ($("show-test").checked) return { data, heldOut };
  const keep = data.X.map((_, i) => i).filter((i) => !heldOut.has(i));
  return { data: { ...data, X: keep.map((i) => data.X[i]), y: keep.map((i) => data.y[i]) }, heldOut: null };
}

/** One legend entry per class: its colour and marker shape, then its label. */
export function classLegend(list, model) {
  list.replaceChildren();
  const classes = model?.task === "classification" ? model.classes || [] : [];
  list.hidden = classes.length === 0;
  classes.forEach((label, k) => {
    const item = document.createElement("li");
    const svg = el("svg", { viewBox: "-6 -6 12 12", width: 14, height: 14, "aria-hidden": "true" }, item);
    const shape = CLASS_SHAPES[k % CLASS_SHAPES.length];
    const attrs = { fill: classColor(k), stroke: "#1a1a1a", "stroke-width": 0.8 };
    if (shape === "circle") el("circle", { cx: 0, cy: 0, r: 4, ...attrs }, svg);
    else if (shape === "square") el("rect", { x: -4, y: -4, width: 8, height: 8, ...attrs }, svg);
    else if (shape === "triangle") el("path", { d: "M0,-5L5,4L-5,4Z", ...attrs }, svg);
    else el("path", { d: "M0,-5L5,0L0,5L-5,0Z", ...attrs }, svg);
    item.append(` class ${label}`);
    item.dataset.class = String(label);
    list.appendChild(item);
  });
}
