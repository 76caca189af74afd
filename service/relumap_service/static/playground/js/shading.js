// Exact value shading. On each region the output is one affine map, so its colour
// varies along one direction only: a linear gradient from the polygon's lowest-value
// vertex to its highest, along the map's gradient. viridis is linear between its
// nine stops, so a colour stop wherever the value crosses one of them makes the
// picture exact, not an approximation, for a regression output. A classifier's
// probability is the logistic of an affine logit: stops at 32 probability levels.

import { sigmoid } from "./geometry.js";
import { viridis } from "./palette.js";

export const VALUE_TINT = 0.3;
const REGRESSION_LEVELS = 8; // viridis's pieces
const PROBABILITY_LEVELS = 32;
const SHADES = 4096;

/**
 * The colour scale of "colour by output value".
 * @param {object} map - a region map (regionmap.js)
 * @param {string} task - "regression" or "classification"
 * @returns {{lo: number, hi: number, label: string, probability: boolean, color: (v: number) => string} | null}
 *   null when the value has no single scale (several outputs of a classifier)
 */
export function valueScale(map, task, classes) {
  if (task === "classification" && map.nOut !== 1) return null;
  const probability = task === "classification";
  let lo = Infinity;
  let hi = -Infinity;
  if (probability) [lo, hi] = [0, 1];
  else {
    // An affine map on a convex polygon takes its extremes at vertices.
    const { points, gradientData, interceptData, nOut } = map;
    const n = map.offsets.length - 1;
    for (let r = 0; r < n; r++) {
      const g0 = gradientData[2 * r * nOut];
      const g1 = gradientData[2 * r * nOut + 1];
      const c = interceptData[r * nOut];
      for (let k = map.offsets[r]; k < map.offsets[r + 1]; k++) {
        const v = 2 * map.vertexIds[k];
        const value = g0 * points[v] + g1 * points[v + 1] + c;
        if (value < lo) lo = value;
        if (value > hi) hi = value;
      }
    }
    if (!(hi > lo)) [lo, hi] = [lo - 0.5, hi + 0.5];
  }
  const label = probability
    ? `probability of class ${classes ? classes[1] : 1}`
    : map.nOut > 1
      ? "output value (y1)"
      : "output value";
  const t = (v) => (v - lo) / (hi - lo);
  // 4096 shades: finer than 8-bit colour can show, and no string built per region.
  const shades = Array.from({ length: SHADES }, (_, k) => viridis(k / (SHADES - 1), VALUE_TINT));
  const color = (v) => shades[Math.round(Math.min(Math.max(t(v), 0), 1) * (SHADES - 1))];
  return { lo, hi, label, probability, t, color, shades };
}

/** The value where the colour scale has a stop, in [lo, hi]. */
function levels(scale) {
  if (scale.probability) {
    const out = [];
    for (let k = 1; k < PROBABILITY_LEVELS; k++) {
      const p = k / PROBABILITY_LEVELS;
      out.push(Math.log(p / (1 - p))); // logits at which the probability crosses a level
    }
    return out;
  }
  return Array.from({ length: REGRESSION_LEVELS - 1 }, (_, k) => scale.lo + ((k + 1) / REGRESSION_LEVELS) * (scale.hi - scale.lo));
}

/**
 * The linear gradient of region r in user (pixel) coordinates.
 * @param {object} map
 * @param {number} r
 * @param {(v: number) => number} x - input x -> pixels
 * @param {(v: number) => number} y - input y -> pixels
 * @param {object} scale - from valueScale
 * @returns {{flat: string} | {from: number[], to: number[], stops: [number, string][]}}
 */
export function regionGradient(map, r, x, y, scale) {
  const { points, gradientData, interceptData, nOut } = map;
  const g0 = gradientData[2 * r * nOut];
  const g1 = gradientData[2 * r * nOut + 1];
  const c = interceptData[r * nOut];
  let lo = Infinity;
  let hi = -Infinity;
  let pLo = 0;
  for (let k = map.offsets[r]; k < map.offsets[r + 1]; k++) {
    const v = 2 * map.vertexIds[k];
    const value = g0 * points[v] + g1 * points[v + 1] + c;
    if (value < lo) (lo = value), (pLo = v);
    if (value > hi) hi = value;
  }
  const shown = (v) => (scale.probability ? sigmoid(v) : v);
  if (!(hi > lo) || scale.color(shown(lo)) === scale.color(shown(hi))) return { flat: scale.color(shown((lo + hi) / 2)) };
  // The value's gradient in pixels: d/dpx = g0 / (dpx/dx).
  const kx = x(1) - x(0);
  const ky = y(1) - y(0);
  const gx = g0 / kx;
  const gy = g1 / ky;
  const norm = gx * gx + gy * gy;
  const from = [x(points[pLo]), y(points[pLo + 1])];
  const length = (hi - lo) / norm;
  const to = [from[0] + gx * length, from[1] + gy * length];
  const stops = [[0, scale.color(shown(lo))]];
  for (const level of levels(scale)) {
    if (level > lo && level < hi) stops.push([(level - lo) / (hi - lo), scale.color(shown(level))]);
  }
  stops.push([1, scale.color(shown(hi))]);
  return { from, to, stops };
}
