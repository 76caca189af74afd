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
    // In the asked layer only the asked unit is needed.
    const last = l === layer - 1;
    for (let j = last ? unit : 0; j < (last ? unit + 1 : nOut); j++) {
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
    if (last) return { a: Mpre[0], c: vpre[0] };
    M = Mpre.map((row, j) => row.map((value) => value * branchSlope(weights, bits[offset + j])));
    v = vpre.map((value, j) => value * branchSlope(weights, bits[offset + j]));
    offset += nOut;
  }
  throw new Error(`no hidden layer ${layer}`);
}

/**
 * Where hidden unit `unit` of layer `layer` (from 1) switches inside the map's box.
 *
 * A first-layer unit's pre-activation is one affine map of the input, so it switches
 * along one straight line: that line cut to the box, exactly. A deeper unit's zero
 * set is a bent line: the region edges where its pre-activation (affine on each
 * region) is zero at both ends, exact because the map is cut along every unit's
 * switching set. Edges on the box's own sides are not switches. A unit dead or
 * always active on the box has no switching set in it.
 * @param {object} regions - a region map (regionmap.js)
 * @returns {{kind: "none"|"line"|"bent", segments: number[][][], pieces: number}}
 *   segments [[x1, y1], [x2, y2]] in input coordinates; pieces: the straight pieces
 */
export function switchingSet(regions, weights, layer, unit) {
  const [[x0, y0], [x1, y1]] = regions.box;
  const none = { kind: "none", segments: [], pieces: 0 };
  if (layer === 1) {
    const a = weights.coefs[0].map((row) => row[unit]);
    const c = weights.intercepts[0][unit];
    const segment = clipLineToBox(a, c, regions.box);
    return segment ? { kind: "line", segments: [segment], pieces: 1 } : none;
  }
  const segments = [];
  const lines = new Set();
  const span = Math.max(x1 - x0, y1 - y0);
  const onSide = (p, q) =>
    (Math.abs(p[0] - q[0]) <= 1e-12 * span && (Math.abs(p[0] - x0) <= 1e-12 * span || Math.abs(p[0] - x1) <= 1e-12 * span)) ||
    (Math.abs(p[1] - q[1]) <= 1e-12 * span && (Math.abs(p[1] - y0) <= 1e-12 * span || Math.abs(p[1] - y1) <= 1e-12 * span));
  const n = regions.offsets.length - 1;
  for (let r = 0; r < n; r++) {
    const { a, c } = preActivation(weights, regions.pattern(r), layer, unit);
    const points = regions.polygon(r);
    const scale = Math.max(...points.map(([x, y]) => Math.abs(a[0] * x) + Math.abs(a[1] * y) + Math.abs(c)), 1e-300);
    const zero = points.map(([x, y]) => Math.abs(a[0] * x + a[1] * y + c) <= 1e-7 * scale);
    for (let k = 0; k < points.length; k++) {
      const next = (k + 1) % points.length;
      if (!(zero[k] && zero[next]) || onSide(points[k], points[next])) continue;
      const p = points[k];
      const q = points[next];
      // Each edge is seen from the regions on both sides: keep it once.
      const key = p[0] < q[0] || (p[0] === q[0] && p[1] < q[1]) ? `${p}|${q}` : `${q}|${p}`;
      if (lines.has(key)) continue;
      lines.add(key);
      segments.push([p, q]);
    }
  }
  return segments.length ? { kind: "bent", segments, pieces: straightPieces(segments) } : none;
}

/** How many straight pieces a set of segments makes: collinear touching segments join. */
function straightPieces(segments) {
  const parent = segments.map((_, i) => i);
  const find = (i) => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const byPoint = new Map();
  segments.forEach(([p, q], i) => {
    for (const point of [p, q]) {
      const key = String(point);
      for (const j of byPoint.get(key) || []) {
        const [a, b] = segments[j];
        const u = [q[0] - p[0], q[1] - p[1]];
        const v = [b[0] - a[0], b[1] - a[1]];
        const cross = u[0] * v[1] - u[1] * v[0];
        if (Math.abs(cross) <= 1e-9 * Math.hypot(...u) * Math.hypot(...v)) parent[find(i)] = find(j);
      }
      byPoint.set(key, [...(byPoint.get(key) || []), i]);
    }
  });
  return new Set(segments.map((_, i) => find(i))).size;
}

/**
 * The part of the line a · x + c = 0 inside the box, or null if it misses the box's interior.
 * @param {number[]} a - two coefficients
 * @param {number} c
 * @param {number[][]} box - [[x0, y0], [x1, y1]]
 */
export function clipLineToBox(a, c, box) {
  const [[x0, y0], [x1, y1]] = box;
  const corners = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
  const f = corners.map(([x, y]) => a[0] * x + a[1] * y + c);
  if (f.every((v) => v >= 0) || f.every((v) => v <= 0)) return null; // at most touching a side
  const out = [];
  for (let k = 0; k < 4; k++) {
    const next = (k + 1) % 4;
    if (f[k] === 0) out.push(corners[k]);
    else if ((f[k] > 0 && f[next] < 0) || (f[k] < 0 && f[next] > 0)) {
      const t = f[k] / (f[k] - f[next]);
      out.push([corners[k][0] + t * (corners[next][0] - corners[k][0]), corners[k][1] + t * (corners[next][1] - corners[k][1])]);
    }
  }
  return out.length >= 2 ? [out[0], out[1]] : null;
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
