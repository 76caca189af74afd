// Geometry the page derives from the service's exact answers: where a hidden
// neuron switches, and the exact part of a convex polygon on one side of a line.

/**
 * Slope of the hidden activation on each unit's branch.
 * @param {object} weights - the weights document (activation, negative_slope)
 */
function branchSlope(weights, bit) {
  if (weights.activation === "identity") return 1;
  if (bit === "1") return 1;
  return weights.activation === "leaky_relu" ? weights.negative_slope : 0;
}

/**
 * The pre-activation of unit `unit` of hidden layer `layer` (from 1) as an affine
 * map of the input on an activation region with pattern `bits`.
 * @returns {{a: number[], c: number}} pre-activation = a · x + c
 */
export function preActivation(weights, bits, layer, unit) {
  const nIn = weights.coefs[0].length;
  // M (units x inputs) and v (units): the current layer's input as an affine map of x.
  let M = Array.from({ length: nIn }, (_, i) => Array.from({ length: nIn }, (_, j) => (i === j ? 1 : 0)));
  let v = new Array(nIn).fill(0);
  let offset = 0;
  for (let l = 0; l < layer; l++) {
    const W = weights.coefs[l];
    const b = weights.intercepts[l];
    const nOut = b.length;
    const Mpre = [];
    const vpre = [];
    for (let j = 0; j < nOut; j++) {
      const row = new Array(nIn).fill(0);
      let c = b[j];
      for (let i = 0; i < W.length; i++) {
        const w = W[i][j];
        if (w === 0) continue;
        for (let k = 0; k < nIn; k++) row[k] += w * M[i][k];
        c += w * v[i];
      }
      Mpre.push(row);
      vpre.push(c);
    }
    if (l === layer - 1) return { a: Mpre[unit], c: vpre[unit] };
    M = Mpre.map((row, j) => row.map((value) => value * branchSlope(weights, bits[offset + j])));
    v = vpre.map((value, j) => value * branchSlope(weights, bits[offset + j]));
    offset += nOut;
  }
  throw new Error(`no hidden layer ${layer}`);
}

/**
 * Edges of the region map along which a hidden unit switches: the edges where its
 * pre-activation is zero at both ends. Exact, because the region map is cut along
 * every unit's switching set.
 * @returns {number[][][]} segments [[x1, y1], [x2, y2]]
 */
export function switchingEdges(regions, weights, layer, unit) {
  const segments = [];
  const n = regions.offsets.length - 1;
  for (let r = 0; r < n; r++) {
    const { a, c } = preActivation(weights, regions.patterns[r], layer, unit);
    const points = regions.vertices.slice(regions.offsets[r], regions.offsets[r + 1]);
    const scale = Math.max(...points.map(([x, y]) => Math.abs(a[0] * x) + Math.abs(a[1] * y) + Math.abs(c)), 1e-300);
    const zero = points.map(([x, y]) => Math.abs(a[0] * x + a[1] * y + c) <= 1e-7 * scale);
    for (let k = 0; k < points.length; k++) {
      const next = (k + 1) % points.length;
      if (zero[k] && zero[next]) segments.push([points[k], points[next]]);
    }
  }
  return segments;
}

/**
 * The part of a convex polygon where a · x + c >= 0 (Sutherland-Hodgman, one edge).
 * @param {number[][]} points - counter-clockwise vertices
 */
export function clipHalfPlane(points, a, c) {
  const out = [];
  const f = points.map(([x, y]) => a[0] * x + a[1] * y + c);
  for (let k = 0; k < points.length; k++) {
    const next = (k + 1) % points.length;
    if (f[k] >= 0) out.push(points[k]);
    if ((f[k] > 0 && f[next] < 0) || (f[k] < 0 && f[next] > 0)) {
      const t = f[k] / (f[k] - f[next]);
      out.push([
        points[k][0] + t * (points[next][0] - points[k][0]),
        points[k][1] + t * (points[next][1] - points[k][1]),
      ]);
    }
  }
  return out;
}

/**
 * The exact parts of region `r` where each class wins, from its logits' affine maps.
 * @returns {{cls: number, points: number[][]}[]}
 */
export function classParts(points, gradients, intercepts) {
  if (gradients.length === 1) {
    const [g] = gradients;
    const [c] = intercepts;
    return [
      { cls: 1, points: clipHalfPlane(points, g, c) },
      { cls: 0, points: clipHalfPlane(points, [-g[0], -g[1]], -c) },
    ].filter((part) => part.points.length >= 3);
  }
  const parts = [];
  for (let k = 0; k < gradients.length; k++) {
    let piece = points;
    for (let d = 0; d < gradients.length && piece.length >= 3; d++) {
      if (d === k) continue;
      const a = [gradients[k][0] - gradients[d][0], gradients[k][1] - gradients[d][1]];
      piece = clipHalfPlane(piece, a, intercepts[k] - intercepts[d]);
    }
    if (piece.length >= 3) parts.push({ cls: k, points: piece });
  }
  return parts;
}

/** Logits at a point from a region's affine maps. */
export function logitsAt(point, gradients, intercepts) {
  return gradients.map((g, k) => g[0] * point[0] + g[1] * point[1] + intercepts[k]);
}

export function sigmoid(z) {
  return 1 / (1 + Math.exp(-z));
}

/** Predicted class index from logits (one logit: binary, class 1 where positive). */
export function predictedClass(logits) {
  if (logits.length === 1) return logits[0] > 0 ? 1 : 0;
  return logits.indexOf(Math.max(...logits));
}
