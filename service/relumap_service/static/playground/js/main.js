// The playground: data, fit, and the exact pieces of the fitted network, drawn from
// the service's /knots and /regions answers.

import { api, apiKey, setApiKey, waitForModel } from "./api.js";
import { classLegend, fitSentence, fitSettings, revealTraining, shownData, syncSolver } from "./controls.js";
import { builtinDataset, describeKind, loadKinds, pointsOf, rememberUploaded, uploadedDataset } from "./datasets.js";
import { clearErrors, placeError, showError } from "./errors.js";
import { affine } from "./format.js";
import { createLearningView, withUnits } from "./learning.js";
import { drawKnots } from "./plot1d.js";
import { drawRegions } from "./plot2d.js";
import { fetchRegionMap } from "./regionmap.js";
import { formatDocument, loadPresets } from "./presets.js";
import { countSentence, diagnosticsSentence, equivalentMap, metricsTable, neuronButtons } from "./report.js";
import { sliceQuery, sliceWeights, showSliceControls } from "./slices.js";
import { readUrl, writeUrl } from "./state.js";

const $ = (id) => document.getElementById(id);

const state = {
  source: "builtin",
  shown: null, // {model, weights, geometry, data, linear, view, preset}
  run: 0,
  presets: [],
  lastShownDocument: "",
};

function setStatus(text, busy = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("busy", busy);
  $("fit").disabled = busy;
}

// --- fitting -------------------------------------------------------------------------

async function fitAndWait(params, label, progress) {
  const created = await api.fit(params);
  const model = await waitForModel(created.id, (current, seconds) => {
    progress[label] = `${label} ${current.status} (${seconds.toFixed(1)} s)`;
    setStatus(`Fitting: ${Object.values(progress).join("; ")}`, true);
  });
  if (model.status === "failed") throw new Error(`the ${label} fit failed: ${model.error || "no reason given"}`);
  return model;
}

async function geometryOf(model, snapshot = null) {
  const slice = sliceQuery(model);
  const line = model.n_features === 1 || slice?.axis !== undefined;
  const [weights, geometry] = await Promise.all([
    api.weights(model.id, snapshot === null ? null : { snapshot }),
    // Two inputs: the .npz map (with the units' maps in its document when asked for).
    withUnits((extra) => (line ? api.knots : fetchRegionMap)(model.id, { ...slice, ...extra }), model, snapshot, line),
  ]);
  return { model, weights: sliceWeights(weights, geometry.slice), geometry };
}

async function runFit() {
  const run = ++state.run;
  clearErrors($("fit-form"));
  const settings = fitSettings();
  setStatus("Preparing the data…", true);
  const dataset = state.source === "upload" ? await uploadedDataset() : await builtinDataset();
  if (!dataset || !settings) {
    setStatus("");
    return;
  }
  const params = { dataset_id: dataset.id, ...settings };
  const compare = $("compare").checked && settings.activation !== "identity";
  const progress = {};
  try {
    const [data, model, linear] = await Promise.all([
      pointsOf(dataset.id),
      fitAndWait(params, `${settings.activation} network`, progress),
      compare ? fitAndWait({ ...params, activation: "identity" }, "identity network", progress) : null,
    ]);
    if (run !== state.run) return;
    setStatus(model.n_features === 2 ? "Computing the exact regions…" : "Computing the exact knots…", true);
    const [main, other] = await Promise.all([geometryOf(model), linear ? geometryOf(linear) : null]);
    if (run !== state.run) return;
    show({ ...main, data, linear: other });
    writeUrl({ source: state.source, dataset: dataset.id });
    const note = await learning.started(state.shown);
    if (run !== state.run) return;
    setStatus(fitSentence(model) + note);
  } catch (error) {
    if (run !== state.run) return;
    setStatus("");
    placeError(error, "fit", "general");
  }
}

async function compareNow() {
  const shown = state.shown;
  $("view-linear").hidden = !$("compare").checked || !shown?.linear;
  if (!$("compare").checked || !shown || shown.linear || shown.model.source !== "fit") return;
  if (shown.model.params.activation === "identity") return;
  const run = ++state.run;
  clearErrors($("fit-form"));
  const params = { dataset_id: shown.model.dataset_id, task: shown.model.task, ...shown.model.params, activation: "identity" };
  try {
    const linear = await fitAndWait(params, "identity network", {});
    const other = await geometryOf(linear);
    if (run !== state.run) return;
    show({ ...shown, linear: other });
    writeUrl({ source: state.source, dataset: shown.model.dataset_id });
    setStatus("Done: the identity network is one affine map.");
  } catch (error) {
    setStatus("");
    placeError(error, "fit", "general");
  }
}

async function reslice() {
  const shown = state.shown;
  if (!shown || shown.model.n_features <= 2) return;
  const run = ++state.run;
  setStatus("Computing the exact slice…", true);
  try {
    const main = await geometryOf(shown.model);
    if (run !== state.run) return;
    show({ ...shown, ...main, snapshot: null, linear: shown.linear ? await geometryOf(shown.linear.model) : null });
    // The snapshots cached for playback were of the previous slice.
    const note = await learning.started(state.shown);
    // A slice chosen meanwhile is still loading: its request ends the busy state.
    if (run !== state.run) return;
    setStatus(`Done: the exact ${main.geometry.knots ? "knots" : "regions"} on the slice.${note}`);
  } catch (error) {
    if (run !== state.run) return;
    setStatus("");
    placeError(error, "fit", "general");
  }
}

// --- showing -------------------------------------------------------------------------

function showInfo(detail) {
  const box = $("info");
  box.replaceChildren();
  const title = document.createElement("p");
  title.className = "info-title";
  title.textContent = detail.title;
  const pattern = document.createElement("p");
  pattern.innerHTML = "activation pattern: <code></code>";
  pattern.querySelector("code").textContent = detail.pattern || "(no hidden units)";
  box.append(title, pattern);
  for (const formula of detail.formulas) {
    const line = document.createElement("p");
    line.className = "formula";
    line.textContent = formula;
    box.appendChild(line);
  }
}

function drawInto(canvas, shown, label) {
  // The data do not lie on a slice; held-out points are drawn hollow, or not at all.
  const { data, heldOut } = shownData(shown.geometry.slice ? null : shown.data, shown.model);
  const ctx = {
    model: shown.model,
    weights: shown.weights,
    dataset: data,
    heldOut,
    colorBy: $("color-by").value,
    label,
    onInfo: showInfo,
  };
  if (shown.model.n_features === 1 || shown.geometry.knots) return drawKnots(canvas, { ...ctx, knots: shown.geometry });
  return drawRegions(canvas, { ...ctx, regions: shown.geometry });
}

function describeModel(model) {
  const sizes = model.params.hidden_layer_sizes || [];
  const what = `${model.params.activation} network [${sizes.join(", ")}]`;
  return model.source === "manual" ? `${what}, given by hand` : what;
}

function show(shown) {
  state.shown = shown;
  showSliceControls(shown.model);
  const { model, geometry, linear } = shown;
  const twoD = !geometry.knots;
  const view = drawInto($("canvas-main"), shown, describeModel(model));
  shown.view = view;
  $("caption-main").textContent = `${describeModel(model)}: ${countSentence(geometry, twoD)}.`;
  $("view-linear").hidden = !linear;
  if (linear) {
    drawInto($("canvas-linear"), { ...linear, data: shown.data }, "identity network");
    $("caption-linear").textContent = `identity network [${(linear.model.params.hidden_layer_sizes || []).join(", ")}]: ${countSentence(linear.geometry, twoD)}. It is one affine map: ${equivalentMap(linear.model)}`;
  }
  $("views").classList.toggle("compare", Boolean(linear));
  $("stage").classList.toggle("compare", Boolean(linear));
  $("counts").textContent = `${countSentence(geometry, twoD)}.`;
  $("counts").dataset.count = twoD ? geometry.n_regions : geometry.n_knots;
  $("counts").dataset.bound = geometry.bound;
  $("diagnostics").textContent = diagnosticsSentence(geometry.diagnostics);
  const affineOnDomain = geometry.diagnostics.affine_on_domain;
  $("equivalent").textContent = model.equivalent_linear_map
    ? `One affine map everywhere: ${equivalentMap(model)}`
    : affineOnDomain
      ? `On this domain the network is one affine map: ${affineOnDomain.intercept.map((b, k) => affine(affineOnDomain.gradient[k], b, affineOnDomain.intercept.length > 1 ? `z${k + 1}` : model.task === "classification" ? "logit" : "y")).join("; ")}`
      : "";
  neuronButtons($("neuron-list"), geometry.diagnostics, (layer, unit) => view.highlightUnit(layer, unit), $("neuron-note"));
  metricsTable($("metrics-table"), model, linear ? linear.model : null);
  $("download-weights").disabled = false;
  $("edit-weights").disabled = false;
  const color = $("color-by").value;
  const params = new URLSearchParams(sliceQuery(model) || {});
  if (twoD) params.set("color_by", color === "class" && model.task !== "classification" ? "linear_region" : color);
  const query = params.size ? `?${params}` : "";
  $("plot-links").innerHTML = `Server-rendered picture: <a href="/v1/models/${model.id}/plot.png${query}">PNG</a> · <a href="/v1/models/${model.id}/plot.svg${query}">SVG</a>`;
  $("info").innerHTML = '<p class="muted">Hover over a region or a piece (or focus the map and use the arrow keys) to see its activation pattern and its affine formula.</p>';
  classLegend($("class-legend"), model);
  learning.drawn(shown);
}

// --- networks by hand ----------------------------------------------------------------

async function showNetwork({ fromUrl = false } = {}) {
  const form = $("editor-form");
  clearErrors(form);
  const text = $("editor-text").value;
  let body;
  try {
    body = JSON.parse(text);
  } catch (error) {
    showError("editor-text", `not valid JSON: ${error.message}`);
    return;
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    showError("editor-text", 'write an object such as {"coefs": [...], "intercepts": [...]}');
    return;
  }
  const run = ++state.run;
  state.lastShownDocument = text;
  setStatus("Computing the network's exact pieces…", true);
  try {
    const model = await api.network(body);
    const shown = await geometryOf(model);
    if (run !== state.run) return;
    const preset = state.presets.find((p) => formatDocument(p.document) === text.trim());
    learning.stop();
    show({ ...shown, data: null, linear: null, preset: preset?.name });
    if (!fromUrl) writeUrl({ source: "manual", preset: preset?.name, model: model.id });
    setStatus(`Showing ${preset ? `the preset ${preset.name}` : "your network"}.`);
  } catch (error) {
    if (run !== state.run) return;
    setStatus("");
    placeError(error, "network", "editor-text");
  }
}

function choosePreset(name) {
  const preset = state.presets.find((p) => p.name === name);
  $("preset-source").textContent = preset ? preset.source : "";
  if (!preset) return false;
  $("preset").value = name;
  $("editor-text").value = formatDocument(preset.document);
  return true;
}

function editShownWeights() {
  const shown = state.shown;
  if (!shown) return;
  const { weights, geometry } = shown;
  const edited = {
    name: `edited ${shown.model.id.slice(0, 8)}`,
    coefs: weights.coefs,
    intercepts: weights.intercepts,
    activation: weights.activation,
    output_activation: weights.output_activation,
    classes: weights.classes,
    domain: geometry.knots ? [geometry.lo, geometry.hi] : geometry.box,
  };
  $("preset").value = "";
  $("preset-source").textContent = "";
  $("editor-text").value = formatDocument(edited);
  $("editor-text").focus();
}

async function downloadWeights() {
  const shown = state.shown;
  if (!shown) return;
  const blob = new Blob([JSON.stringify(shown.weights, null, 2)], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = `relumap-${shown.model.id}-weights.json`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

async function showModelFromUrl(id) {
  try {
    const model = await api.model(id);
    const shown = await geometryOf(model);
    const data = model.dataset_id ? await pointsOf(model.dataset_id) : null;
    if (model.source === "manual") {
      $("editor-text").value = formatDocument({
        coefs: shown.weights.coefs,
        intercepts: shown.weights.intercepts,
        activation: shown.weights.activation,
        output_activation: shown.weights.output_activation,
        classes: shown.weights.classes,
        domain: shown.geometry.knots ? [shown.geometry.lo, shown.geometry.hi] : shown.geometry.box,
      });
    }
    show({ ...shown, data, linear: null });
    const note = await learning.started(state.shown);
    if (note) showError("general", note.trim());
  } catch (error) {
    showError("general", `could not show model ${id}: ${error.message}`);
  }
}

// --- wiring --------------------------------------------------------------------------

/**
 * A shared URL will draw at once: each view waits as tall as its plot will be
 * (reserve.js has laid out both views when comparing), so nothing moves later.
 */
function reserveSpace() {
  const oneD = $("kind").selectedOptions[0]?.parentElement?.label?.startsWith("1D");
  for (const id of ["canvas-main", "canvas-linear"]) $(id).classList.toggle("one-d", Boolean(oneD));
}

function setSource(source) {
  state.source = source;
  $("source-builtin").checked = source === "builtin";
  $("source-upload").checked = source === "upload";
  $("builtin-fields").hidden = source !== "builtin";
  $("upload-fields").hidden = source !== "upload";
}

let liveTimer = null;

// Playback redraws the map with a snapshot's geometry; the fitted model's is the last.
const learning = createLearningView({
  load: geometryOf,
  redraw: ({ model, weights, geometry }, snapshot) => {
    // A late frame of a model no longer shown is dropped.
    if (state.shown?.model.id === model.id) show({ ...state.shown, weights, geometry, snapshot });
  },
});

async function main() {
  const fitForm = $("fit-form");
  $("api-key").value = apiKey();
  $("api-key").addEventListener("change", (event) => setApiKey(event.target.value.trim()));
  for (const radio of document.querySelectorAll('input[name="source"]')) {
    radio.addEventListener("change", () => setSource(radio.value));
  }
  fitForm.addEventListener("submit", (event) => {
    event.preventDefault();
    runFit();
  });
  $("kind").addEventListener("change", describeKind);
  $("csv-file").addEventListener("change", () => {
    clearErrors(fitForm);
    if ($("csv-file").files[0]) uploadedDataset();
  });
  $("compare").addEventListener("change", compareNow);
  $("solver").addEventListener("change", syncSolver);
  $("show-test").addEventListener("change", () => {
    if (state.shown) show(state.shown);
  });
  $("color-by").addEventListener("change", () => {
    if (state.shown) show(state.shown);
  });
  for (const id of ["slice-x", "slice-y", "slice-at"]) $(id).addEventListener("change", reslice);
  $("editor-form").addEventListener("submit", (event) => {
    event.preventDefault();
    showNetwork();
  });
  $("preset").addEventListener("change", () => {
    if (choosePreset($("preset").value)) showNetwork();
  });
  $("editor-text").addEventListener("input", () => {
    $("preset").value = "";
    clearTimeout(liveTimer);
    if (!$("live").checked) return;
    liveTimer = setTimeout(() => {
      const text = $("editor-text").value;
      try {
        JSON.parse(text);
      } catch {
        return; // wait until the JSON is whole again
      }
      if (text !== state.lastShownDocument) showNetwork();
    }, 700);
  });
  $("download-weights").addEventListener("click", downloadWeights);
  $("edit-weights").addEventListener("click", editShownWeights);

  const [presets] = await Promise.all([loadPresets().catch(() => []), loadKinds()]);
  state.presets = presets;
  for (const preset of presets) $("preset").appendChild(new Option(preset.name.replaceAll("_", " "), preset.name));

  const wanted = readUrl();
  syncSolver();
  revealTraining();
  describeKind();
  if (wanted.source === "upload" || wanted.source === "builtin") setSource(wanted.source);
  if (wanted.dataset) {
    try {
      rememberUploaded(await api.dataset(wanted.dataset));
    } catch (error) {
      showError("csv-file", `the shared data set is gone: ${error.message}; upload it again`);
    }
  }
  document.body.dataset.ready = "true";
  if (!wanted.run) return;
  reserveSpace();
  if (wanted.source === "manual" && wanted.preset && choosePreset(wanted.preset)) await showNetwork({ fromUrl: true });
  else if (wanted.model) await showModelFromUrl(wanted.model);
  else if (wanted.source !== "manual") await runFit();
}

main();
