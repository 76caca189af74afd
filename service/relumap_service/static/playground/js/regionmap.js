// A region map as the page holds it: the .npz answer of /regions as flat typed
// arrays (each vertex once, polygons as runs of vertex ids), with accessors for
// one region at a time, so 100,000 regions cost no per-region objects.

import { request } from "./api.js";
import { readNpz } from "./npz.js";

export const NPZ = "application/x-npz";

/**
 * Fetch a model's region map as .npz and decode it.
 * @param {string} id - the model
 * @param {object|null} query - /regions query parameters (a slice, a box)
 */
export async function fetchRegionMap(id, query = null) {
  const search = query ? `?${new URLSearchParams(query)}` : "";
  const response = await request("GET", `/v1/models/${id}/regions${search}`, { raw: true, headers: { Accept: NPZ } });
  const buffer = await response.arrayBuffer();
  // When the answer had fully arrived: the drawing's clock starts here.
  const receivedAt = performance.now();
  const map = await regionMapFromNpz(buffer);
  map.timing = { receivedAt, decodedAt: performance.now(), bytes: buffer.byteLength };
  return map;
}

function numbers(array) {
  const data = array.data;
  // Indices past 2**31 come as int64; a page holds nothing that large, but read it right.
  return data instanceof BigInt64Array ? Float64Array.from(data, Number) : data;
}

/**
 * Decode the `application/x-npz` answer of `GET /v1/models/{id}/regions`.
 * @param {ArrayBuffer} buffer
 * @returns {Promise<object>} the answer's document with the map's arrays and accessors
 */
export async function regionMapFromNpz(buffer) {
  // What drawing needs first; the patterns (the bulk of the bytes) are decoded
  // after the map is on screen (`map.complete`). Areas and interior points are
  // not sent as .npz; the page does not use them.
  const later = new Set(["patterns"]);
  const arrays = await readNpz(buffer, (name) => !later.has(name));
  const document = JSON.parse(new TextDecoder().decode(arrays.get("document").data));
  const gradients = arrays.get("gradients");
  const map = {
    ...document,
    points: numbers(arrays.get("points")),
    vertexIds: numbers(arrays.get("vertex_ids")),
    offsets: numbers(arrays.get("offsets")),
    packed: null,
    patternBytes: 0,
    nHidden: document.n_hidden,
    gradientData: gradients.data,
    nOut: gradients.shape[1],
    interceptData: arrays.get("intercepts").data,
    linearRegion: numbers(arrays.get("linear_region")),
    complete: false,
  };
  map.completed = new Promise((resolve) => setTimeout(resolve, 0))
    .then(() => readNpz(buffer, (name) => later.has(name)))
    .then((rest) => {
      const packed = rest.get("patterns");
      map.packed = packed.data;
      map.patternBytes = packed.shape[1] ?? 0;
      map.complete = true;
      return map;
    });
  return Object.assign(map, accessors(map));
}

function accessors(map) {
  return {
    /** Vertices of region r, counter-clockwise: [[x, y], ...]. */
    polygon(r) {
      const out = [];
      for (let k = map.offsets[r]; k < map.offsets[r + 1]; k++) {
        const v = map.vertexIds[k];
        out.push([map.points[2 * v], map.points[2 * v + 1]]);
      }
      return out;
    },
    /** Activation pattern of region r as "0110…" (hidden layer 1 first); null until decoded. */
    pattern(r) {
      if (!map.packed) return null;
      let bits = "";
      const base = r * map.patternBytes;
      for (let j = 0; j < map.nHidden; j++) bits += (map.packed[base + (j >> 3)] >> (7 - (j & 7))) & 1;
      return bits;
    },
    /** Gradient of each output on region r: [[d/dx1, d/dx2], ...] (n_outputs rows). */
    gradient(r) {
      const out = [];
      for (let k = 0; k < map.nOut; k++) {
        const at = 2 * (r * map.nOut + k);
        out.push([map.gradientData[at], map.gradientData[at + 1]]);
      }
      return out;
    },
    /** Intercept of each output on region r. */
    intercept(r) {
      return Array.from(map.interceptData.subarray(r * map.nOut, (r + 1) * map.nOut));
    },
    /** The first output's value at (x, y) on region r's affine map. */
    value(r, x, y) {
      const at = 2 * r * map.nOut;
      return map.gradientData[at] * x + map.gradientData[at + 1] * y + map.interceptData[r * map.nOut];
    },
  };
}
