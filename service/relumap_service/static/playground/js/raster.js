// Dense maps straight into pixels. With tens of thousands of regions most are a
// few pixels each, and building canvas paths costs more than the pixels: here each
// convex polygon is scanned row by row, and each pixel takes the colour of the
// region holding its centre (the picture the picking answers for, pixel for pixel).
// Value and class colours are computed per pixel from the region's own affine
// map, so they are exact at every pixel, not interpolated.

/** "rgb(r, g, b)" -> a pixel in ImageData's byte order (little-endian RGBA), unsigned. */
export function packed(css) {
  const [r, g, b] = css.match(/\d+(\.\d+)?/g).map(Number);
  return ((255 << 24) | (Math.round(b) << 16) | (Math.round(g) << 8) | Math.round(r)) >>> 0;
}

/**
 * Fill `visible` regions into an ImageData.
 * @param {ImageData} image
 * @param {object} map - a region map (regionmap.js)
 * @param {number[]} visible - region indices
 * @param {number[]} t - device pixel = (t[0] * x + t[4], t[3] * y + t[5]) for input (x, y)
 * @param {number[]} clip - [left, top, right, bottom] in device pixels
 * @param {(r: number) => number} flat - a region's packed colour, or -1 to colour per pixel
 * @param {(r: number, x: number, y: number) => number} perPixel - the packed colour at input (x, y)
 */
export function rasterize(image, map, visible, t, clip, flat, perPixel) {
  const width = image.width;
  const pixels = new Uint32Array(image.data.buffer);
  const { points, vertexIds, offsets } = map;
  const [kx, , , ky, ex, ey] = t;
  const xs = [];
  const ys = [];
  for (const r of visible) {
    const start = offsets[r];
    const count = offsets[r + 1] - start;
    let top = Infinity;
    let bottom = -Infinity;
    for (let k = 0; k < count; k++) {
      const v = 2 * vertexIds[start + k];
      xs[k] = kx * points[v] + ex;
      ys[k] = ky * points[v + 1] + ey;
      if (ys[k] < top) top = ys[k];
      if (ys[k] > bottom) bottom = ys[k];
    }
    // Rows whose centres (row + 0.5) lie in [top, bottom).
    const row0 = Math.max(Math.ceil(top - 0.5), clip[1]);
    const row1 = Math.min(Math.ceil(bottom - 0.5), clip[3]);
    if (row0 >= row1) continue;
    const color = flat(r);
    for (let row = row0; row < row1; row++) {
      const yc = row + 0.5;
      let left = Infinity;
      let right = -Infinity;
      for (let k = 0; k < count; k++) {
        const j = k + 1 === count ? 0 : k + 1;
        const ya = ys[k];
        const yb = ys[j];
        if ((ya <= yc && yb > yc) || (yb <= yc && ya > yc)) {
          const x = xs[k] + ((yc - ya) / (yb - ya)) * (xs[j] - xs[k]);
          if (x < left) left = x;
          if (x > right) right = x;
        }
      }
      const col0 = Math.max(Math.ceil(left - 0.5), clip[0]);
      const col1 = Math.min(Math.ceil(right - 0.5), clip[2]);
      if (col0 >= col1) continue;
      const base = row * width;
      if (color !== -1) pixels.fill(color, base + col0, base + col1);
      else {
        const y = (yc - ey) / ky;
        for (let col = col0; col < col1; col++) pixels[base + col] = perPixel(r, (col + 0.5 - ex) / kx, y);
      }
    }
  }
}
