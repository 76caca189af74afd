// Exact slices of a model with more than two inputs: the page asks /knots or
// /regions for the line or plane through a reference point along the chosen
// features, and draws it as it draws a one- or two-input model.

const $ = (id) => document.getElementById(id);

function fillSelect(select, names, { blank = null, chosen = 0 } = {}) {
  const options = names.map((name, index) => new Option(name, String(index)));
  if (blank) options.unshift(new Option(blank, ""));
  const previous = select.value;
  select.replaceChildren(...options);
  const keep = [...select.options].some((option) => option.value === previous);
  select.value = keep && previous !== "" ? previous : blank && chosen === null ? "" : String(chosen);
}

/**
 * Show the slice controls for a model of more than two inputs (hide them otherwise),
 * with its feature names; keep the choice when the same features are shown again.
 */
export function showSliceControls(model) {
  const fields = $("slice-fields");
  const names = model.feature_names || [];
  const sliced = model.n_features > 2;
  fields.hidden = !sliced;
  if (!sliced) return;
  if (fields.dataset.names !== JSON.stringify(names)) {
    fillSelect($("slice-x"), names, { chosen: 0 });
    fillSelect($("slice-y"), names, { blank: "— none: a line", chosen: 1 });
    fields.dataset.names = JSON.stringify(names);
  }
}

/**
 * The query of the slice chosen for a model: {axes, at} for a plane, {axis, at}
 * for a line, or null for a model of one or two inputs.
 */
export function sliceQuery(model) {
  if (model.n_features <= 2) return null;
  showSliceControls(model);
  const x = $("slice-x").value;
  const y = $("slice-y").value;
  const at = $("slice-at").value;
  if (y === "" || y === x) return { axis: x, at };
  return { axes: `${x},${y}`, at };
}

/**
 * The weights of the network restricted to a slice: the line or plane
 * `origin + t · directions` composed into the first layer, so that the page's
 * neuron highlights work in the slice's own coordinates.
 */
export function sliceWeights(weights, slice) {
  if (!slice) return weights;
  const [W, b] = [weights.coefs[0], weights.intercepts[0]];
  const units = b.length;
  const coefs0 = slice.directions.map((direction) =>
    Array.from({ length: units }, (_, j) => direction.reduce((sum, d, i) => sum + d * W[i][j], 0)),
  );
  const intercepts0 = b.map((bj, j) => bj + slice.origin.reduce((sum, o, i) => sum + o * W[i][j], 0));
  return { ...weights, coefs: [coefs0, ...weights.coefs.slice(1)], intercepts: [intercepts0, ...weights.intercepts.slice(1)] };
}
