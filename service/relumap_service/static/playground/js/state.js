// The page's state in its URL (data set, settings, seeds), so a view can be shared
// and reloaded: the same seeds give the same data and the same fit.

// URL parameter -> control id, for the settings that are plain form controls.
export const FIELDS = {
  kind: "kind",
  n: "n-samples",
  noise: "noise",
  dseed: "data-seed",
  target: "target",
  task: "task",
  act: "activation",
  layers: "layers",
  alpha: "alpha",
  iter: "max-iter",
  seed: "seed",
  solver: "solver",
  lr: "learning-rate",
  batch: "batch-size",
  train: "train-percent",
  snaps: "snapshots",
  color: "color-by",
};

/** Set the controls from the URL; return the parameters that say what to show. */
export function readUrl() {
  const params = new URLSearchParams(window.location.search);
  for (const [param, id] of Object.entries(FIELDS)) {
    const control = document.getElementById(id);
    if (params.has(param) && control) control.value = params.get(param);
  }
  const compare = document.getElementById("compare");
  if (compare && params.has("compare")) compare.checked = params.get("compare") === "1";
  return {
    source: params.get("src") || (params.has("dataset") ? "upload" : "builtin"),
    dataset: params.get("dataset"),
    preset: params.get("preset"),
    model: params.get("model"),
    run: params.has("kind") || params.has("dataset") || params.has("preset") || params.has("model"),
  };
}

/** Write the current settings into the URL without reloading. */
export function writeUrl(extra) {
  const params = new URLSearchParams();
  params.set("src", extra.source);
  if (extra.source === "manual") {
    if (extra.preset) params.set("preset", extra.preset);
    else if (extra.model) params.set("model", extra.model);
  } else {
    const skip = extra.source === "upload" ? ["kind", "n", "noise", "dseed"] : ["target"];
    for (const [param, id] of Object.entries(FIELDS)) {
      const control = document.getElementById(id);
      if (control && !skip.includes(param)) params.set(param, control.value);
    }
    if (extra.source === "upload" && extra.dataset) params.set("dataset", extra.dataset);
    if (document.getElementById("compare").checked) params.set("compare", "1");
  }
  if (extra.source === "manual") params.set("color", document.getElementById("color-by").value);
  const url = `${window.location.pathname}?${params.toString()}`;
  window.history.replaceState(null, "", url);
  return url;
}
