// Which region holds a point: a uniform grid over the box, each cell listing the
// regions whose bounding boxes meet it, then an exact point-in-convex-polygon test
// on those few. Built once per map in a few milliseconds; a query costs microseconds.

/**
 * Bounding boxes of every region: [xmin, ymin, xmax, ymax] per region, flat.
 * @param {object} map - a region map (regionmap.js)
 */
export function boundingBoxes(map) {
  const n = map.offsets.length - 1;
  const boxes = new Float64Array(4 * n);
  const { points, vertexIds, offsets } = map;
  for (let r = 0; r < n; r++) {
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (let k = offsets[r]; k < offsets[r + 1]; k++) {
      const v = 2 * vertexIds[k];
      const x = points[v];
      const y = points[v + 1];
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    boxes[4 * r] = x0;
    boxes[4 * r + 1] = y0;
    boxes[4 * r + 2] = x1;
    boxes[4 * r + 3] = y1;
  }
  return boxes;
}

/**
 * A picking index of a region map.
 * @param {object} map - a region map (regionmap.js)
 * @param {Float64Array} boxes - from boundingBoxes(map)
 * @returns {{pick: (x: number, y: number) => number}} the region holding (x, y), or -1
 */
export function pickingIndex(map, boxes) {
  const n = map.offsets.length - 1;
  const [[bx0, by0], [bx1, by1]] = map.box;
  // About one region per cell on average, at most 1024 x 1024 cells.
  const side = Math.max(1, Math.min(1024, Math.ceil(Math.sqrt(n))));
  const sx = side / (bx1 - bx0);
  const sy = side / (by1 - by0);
  const cellOf = (v, lo, s) => Math.min(side - 1, Math.max(0, Math.floor((v - lo) * s)));
  const counts = new Uint32Array(side * side + 1);
  // Each region's span of cells, kept for the second pass.
  const spans = new Uint16Array(4 * n);
  for (let r = 0; r < n; r++) {
    const i0 = (spans[4 * r] = cellOf(boxes[4 * r], bx0, sx));
    const j0 = (spans[4 * r + 1] = cellOf(boxes[4 * r + 1], by0, sy));
    const i1 = (spans[4 * r + 2] = cellOf(boxes[4 * r + 2], bx0, sx));
    const j1 = (spans[4 * r + 3] = cellOf(boxes[4 * r + 3], by0, sy));
    for (let j = j0; j <= j1; j++) for (let i = i0; i <= i1; i++) counts[j * side + i + 1]++;
  }
  for (let c = 1; c < counts.length; c++) counts[c] += counts[c - 1];
  const cells = new Uint32Array(counts[side * side]);
  const fill = counts.slice(0, side * side);
  for (let r = 0; r < n; r++) {
    const [i0, j0, i1, j1] = spans.subarray(4 * r, 4 * r + 4);
    for (let j = j0; j <= j1; j++) for (let i = i0; i <= i1; i++) cells[fill[j * side + i]++] = r;
  }
  const { points, vertexIds, offsets } = map;

  function inside(r, x, y) {
    if (x < boxes[4 * r] || x > boxes[4 * r + 2] || y < boxes[4 * r + 1] || y > boxes[4 * r + 3]) return false;
    const start = offsets[r];
    const end = offsets[r + 1];
    // Counter-clockwise vertices: the point is inside when it is left of (or on) every edge.
    const scale = Math.max(Math.abs(x), Math.abs(y), 1);
    for (let k = start; k < end; k++) {
      const a = 2 * vertexIds[k];
      const b = 2 * vertexIds[k + 1 < end ? k + 1 : start];
      const cross = (points[b] - points[a]) * (y - points[a + 1]) - (points[b + 1] - points[a + 1]) * (x - points[a]);
      if (cross < -1e-12 * scale * scale) return false;
    }
    return true;
  }

  return {
    pick(x, y) {
      if (!(x >= bx0 && x <= bx1 && y >= by0 && y <= by1)) return -1;
      const c = cellOf(y, by0, sy) * side + cellOf(x, bx0, sx);
      for (let k = counts[c]; k < counts[c + 1]; k++) if (inside(cells[k], x, y)) return cells[k];
      return -1;
    },
  };
}
