// The relumap HTTP API, as the page uses it: one request function every call goes
// through, and one error type carrying the service's problem document.

const KEY_STORAGE = "relumap.apiKey";

/** An error answer of the service (RFC 9457 problem document) or of the network. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    // Field errors of a validation problem: {field: [messages]} (may nest).
    this.errors = problem.errors || null;
  }
}

export function apiKey() {
  return sessionStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

/**
 * Send one request and return the parsed JSON body (or the Response for blobs).
 * @param {string} method
 * @param {string} path - under the service's origin, e.g. "/v1/models"
 * @param {{json?: any, body?: BodyInit, headers?: object, raw?: boolean, signal?: AbortSignal}} options
 */
export async function request(method, path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  const key = apiKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, signal: options.signal });
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, {
      title: "Network error",
      detail: `the service did not answer (${error.message}); is it still running?`,
    });
  }
  if (!response.ok) {
    let problem;
    try {
      problem = await response.json();
    } catch {
      problem = { title: response.statusText, detail: `HTTP ${response.status} ${response.statusText}` };
    }
    throw new ApiError(response.status, problem);
  }
  if (options.raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

/**
 * An Idempotency-Key naming a document by its content, so that showing the same
 * network again (a preset, a reload, an undo in the editor) reuses its model
 * instead of storing another. Hashing needs a secure context (localhost, https).
 */
async function contentKey(document) {
  if (!globalThis.crypto?.subtle) return null;
  const bytes = new TextEncoder().encode(JSON.stringify(document));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return "network-" + Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

export const api = {
  info: () => request("GET", "/v1"),
  generate: (params) => request("POST", "/v1/datasets/generate", { json: params }),
  uploadCsv: (file, target) => {
    const form = new FormData();
    form.append("file", file);
    form.append("target", target || "y");
    return request("POST", "/v1/datasets", { body: form });
  },
  dataset: (id) => request("GET", `/v1/datasets/${id}?include=data`),
  fit: (params) => request("POST", "/v1/models", { json: params }),
  model: (id) => request("GET", `/v1/models/${id}`),
  weights: (id, query = null) => request("GET", `/v1/models/${id}/weights${search(query)}`),
  knots: (id, query = null) => request("GET", `/v1/models/${id}/knots${search(query)}`),
  regions: (id, query = null) => request("GET", `/v1/models/${id}/regions${search(query)}`),
  snapshots: (id) => request("GET", `/v1/models/${id}/snapshots`),
  network: async (document) => {
    const key = await contentKey(document);
    const headers = key ? { "Idempotency-Key": key } : {};
    return request("POST", "/v1/networks", { json: document, headers });
  },
};

function search(query) {
  return query ? `?${new URLSearchParams(query)}` : "";
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Poll a model until its fit has finished, reporting each status seen.
 * @param {string} id
 * @param {(model: object, seconds: number) => void} onStatus
 */
export async function waitForModel(id, onStatus, signal) {
  const started = performance.now();
  let delay = 150;
  for (;;) {
    const model = await request("GET", `/v1/models/${id}`, { signal });
    onStatus(model, (performance.now() - started) / 1000);
    if (model.status === "succeeded" || model.status === "failed") return model;
    await sleep(delay);
    delay = Math.min(delay * 1.4, 1000);
  }
}
