// Errors next to the control that caused them: a problem document's field errors
// ({field: [messages]}) are placed by field name, anything else at a fallback.

import { ApiError } from "./api.js";

// API field -> control id, per request.
const FIELDS = {
  generate: { kind: "kind", n_samples: "n-samples", noise: "noise", random_state: "data-seed" },
  upload: { file: "csv-file", X: "csv-file", y: "target", target: "target", name: "csv-file" },
  fit: {
    task: "task",
    hidden_layer_sizes: "layers",
    activation: "activation",
    alpha: "alpha",
    max_iter: "max-iter",
    random_state: "seed",
    solver: "solver",
    learning_rate_init: "learning-rate",
    batch_size: "batch-size",
    test_fraction: "train-percent",
    snapshots: "snapshots",
  },
  // Everything about a hand-made network is in the editor's one text area.
  network: new Proxy({}, { get: () => "editor-text" }),
};

/** Flatten marshmallow's (possibly nested) messages into one sentence. */
export function messages(value) {
  if (Array.isArray(value)) return value.map(messages).join(" ");
  if (value && typeof value === "object") {
    return Object.entries(value)
      .map(([key, inner]) => (/^\d+$/.test(key) ? `item ${Number(key) + 1}: ${messages(inner)}` : `${key}: ${messages(inner)}`))
      .join(" ");
  }
  return String(value);
}

/** Show `message` under the control `id` (its slot is #error-<id>) and mark it invalid. */
export function showError(id, message) {
  document.getElementById(`error-${id}`).textContent = message;
  const control = document.getElementById(id);
  if (control) control.setAttribute("aria-invalid", "true");
  // A control folded away in a disclosure is shown with its error.
  control?.closest("details")?.setAttribute("open", "");
}

export function clearErrors(form) {
  for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  if (form.id === "fit-form") document.getElementById("error-general").textContent = "";
}

/**
 * Put an error next to its control.
 * @param {Error} error
 * @param {"generate"|"upload"|"fit"|"network"} request - which request failed
 * @param {string} fallback - control id for errors without a known field
 */
export function placeError(error, request, fallback) {
  if (error.name === "AbortError") return;
  if (error instanceof ApiError && error.errors && typeof error.errors === "object") {
    let placed = false;
    for (const [field, value] of Object.entries(error.errors)) {
      const id = FIELDS[request][field];
      if (id) {
        showError(id, messages(value));
        placed = true;
      }
    }
    if (placed) return;
  }
  showError(fallback, error.message);
}
