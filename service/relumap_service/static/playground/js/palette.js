// Colours that survive colour-blindness: Okabe & Ito's palette for classes (with a
// marker shape each, so colour is never the only cue) and viridis, perceptually
// uniform, for values and linear regions. The same choices as the server's plots.

export const CLASS_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442"];
export const CLASS_SHAPES = ["circle", "square", "triangle", "diamond"];

// viridis at 9 evenly spaced stops (matplotlib's colormap data).
const VIRIDIS = [
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
];
const GOLDEN = 0.6180339887498949;

function mix(rgb, amount) {
  return rgb.map((c) => Math.round(c + (255 - c) * amount));
}

function css(rgb) {
  return `rgb(${rgb[0]}, ${rgb[1]}, ${rgb[2]})`;
}

/** viridis at t in [0, 1], mixed with white by `tint`. */
export function viridis(t, tint = 0) {
  const x = Math.min(Math.max(t, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2);
  const f = x - i;
  const rgb = VIRIDIS[i].map((c, k) => c + (VIRIDIS[i + 1][k] - c) * f);
  return css(mix(rgb, tint));
}

/** The fill of linear region `k`: golden-ratio steps, so neighbours differ. */
export function linearRegionColor(k) {
  return viridis(0.15 + 0.85 * ((k * GOLDEN) % 1), 0.55);
}

export function classColor(k, tint = 0) {
  const hex = CLASS_COLORS[k % CLASS_COLORS.length];
  const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return css(mix(rgb, tint));
}
