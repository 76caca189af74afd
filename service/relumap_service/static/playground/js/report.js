// The numbers beside the maps: metrics against the linear baseline, the region or
// knot count against its bound, and the hidden neurons with their diagnostics.

import { affine, metric, num, unitName } from "./format.js";

const METRICS = {
  regression: [
    ["r2", "R²"],
    ["mse", "MSE"],
    ["rmse", "RMSE"],
    ["mae", "MAE"],
    ["max_error", "max error"],
  ],
  classification: [
    ["accuracy", "accuracy"],
    ["f1", "F1 (macro)"],
    ["log_loss", "log loss"],
    ["roc_auc", "ROC AUC"],
  ],
};

function cell(row, tag, text, attrs = {}) {
  const node = document.createElement(tag);
  node.textContent = text;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  row.appendChild(node);
  return node;
}

/**
 * Fill the metrics table: train and test of each model beside the linear baseline.
 * @param {HTMLTableElement} table
 * @param {object} model - the ReLU (or chosen) model document
 * @param {object|null} linear - the identity model of "compare with linear", if any
 */
export function metricsTable(table, model, linear) {
  table.replaceChildren();
  const note = table.parentElement.nextElementSibling;
  note.textContent = model.metrics ? "" : "A network given by hand has no data, so no metrics.";
  if (!model.metrics) return;
  const columns = [
    { key: "network", label: `${model.params.activation} network`, metrics: model.metrics },
    { key: "baseline", label: `linear baseline (${model.baseline.model})`, metrics: model.baseline },
  ];
  if (linear && linear.metrics) columns.push({ key: "identity", label: "identity network", metrics: linear.metrics });
  const head = table.createTHead();
  const top = head.insertRow();
  cell(top, "th", "", { scope: "col" });
  const second = head.insertRow();
  cell(second, "th", "metric", { scope: "col" });
  for (const column of columns) {
    cell(top, "th", column.label, { colspan: "2", scope: "colgroup" });
    cell(second, "th", "train", { scope: "col" });
    cell(second, "th", "test", { scope: "col" });
  }
  const body = table.createTBody();
  for (const [key, label] of METRICS[model.task] || []) {
    if (model.metrics.train[key] === undefined && model.metrics.test[key] === undefined) continue;
    const row = body.insertRow();
    cell(row, "th", label, { scope: "row" });
    for (const column of columns) {
      for (const split of ["train", "test"]) {
        const value = (column.metrics[split] || {})[key];
        cell(row, "td", metric(value), {
          "data-model": column.key,
          "data-split": split,
          "data-metric": key,
          "data-value": value === undefined || value === null ? "" : String(value),
        });
      }
    }
  }
  const row = body.insertRow();
  cell(row, "th", "samples", { scope: "row" });
  for (const column of columns) {
    cell(row, "td", String(column.metrics.train?.n_samples ?? model.n_train ?? "–"));
    cell(row, "td", String(column.metrics.test?.n_samples ?? model.n_test ?? "–"));
  }
}

/** One sentence: the count of pieces beside its theoretical bound. */
export function countSentence(geometry, twoD) {
  if (twoD) {
    return `${plural(geometry.n_regions, "activation region")} (at most ${geometry.bound}, Serra et al.'s bound), ${plural(geometry.n_linear_regions, "linear region")}`;
  }
  return `${plural(geometry.n_knots, "knot")} (at most ${geometry.bound}), ${plural(geometry.n_pieces, "piece")}`;
}

function plural(count, noun) {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** The single affine map of an identity network, as a formula. */
export function equivalentMap(model) {
  const map = model.equivalent_linear_map;
  if (!map) return "";
  const outputs = map.intercept.length;
  const lhs = (k) => (model.task === "classification" ? (outputs === 1 ? "logit" : `z(${model.classes ? model.classes[k] : k})`) : outputs === 1 ? "y" : `y${k + 1}`);
  return map.intercept.map((b, k) => affine(map.coef.map((row) => row[k]), b, lhs(k))).join(";  ");
}

/**
 * Draw one toggle button per hidden neuron, marked dead or always active.
 * @param {HTMLElement} list
 * @param {object} diagnostics - from /knots or /regions
 * @param {(layer: number|null, unit: number|null) => string} onToggle
 */
export function neuronButtons(list, diagnostics, onToggle, note) {
  list.replaceChildren();
  note.textContent = "";
  const dead = new Set(diagnostics.dead_units.map(([l, u]) => `${l}:${u}`));
  const always = new Set(diagnostics.always_active_units.map(([l, u]) => `${l}:${u}`));
  let group = null;
  let layerShown = 0;
  diagnostics.layer.forEach((layer, i) => {
    const unit = diagnostics.unit[i];
    if (layer !== layerShown) {
      group = document.createElement("div");
      group.className = "neuron-layer";
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", `hidden layer ${layer}`);
      const label = document.createElement("span");
      label.className = "layer-label";
      label.textContent = `layer ${layer}`;
      group.appendChild(label);
      list.appendChild(group);
      layerShown = layer;
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = "neuron";
    button.dataset.layer = layer;
    button.dataset.unit = unit;
    button.setAttribute("aria-pressed", "false");
    let state = "";
    if (dead.has(`${layer}:${unit}`)) state = "dead";
    else if (always.has(`${layer}:${unit}`)) state = "always active";
    button.textContent = unitName(layer, unit);
    if (state) {
      button.classList.add(state === "dead" ? "dead" : "always");
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = state === "dead" ? "dead" : "on";
      button.appendChild(badge);
    }
    const fraction = diagnostics.active_fraction ? diagnostics.active_fraction[i] : null;
    button.title = `${unitName(layer, unit)}${state ? `: ${state} on this domain` : ""}${fraction === null ? "" : `; active on ${num(100 * fraction, 3)}% of the training points`}`;
    button.addEventListener("click", () => {
      const pressed = button.getAttribute("aria-pressed") === "true";
      for (const other of list.querySelectorAll(".neuron")) other.setAttribute("aria-pressed", "false");
      if (pressed) {
        note.textContent = "";
        onToggle(null, null);
        return;
      }
      button.setAttribute("aria-pressed", "true");
      note.textContent = `${unitName(layer, unit)}${state ? ` (${state})` : ""}: ${onToggle(layer, unit)}.`;
    });
    group.appendChild(button);
  });
  if (!diagnostics.layer.length) note.textContent = "This network has no hidden neurons.";
}

/** A short list of dead and always-active neurons. */
export function diagnosticsSentence(diagnostics) {
  const names = (pairs) => pairs.map(([l, u]) => unitName(l, u)).join(", ") || "none";
  return `Dead on this domain: ${names(diagnostics.dead_units)}. Always active: ${names(diagnostics.always_active_units)}.`;
}
