// Legends under a 2D map, in HTML: the value scale of "colour by output value"
// (the same tinted viridis as the regions, with round ticks) and the classes of a
// classifier (colour and marker shape each, so colour is never the only cue).

import { num } from "./format.js";
import { CLASS_SHAPES, classColor, viridis } from "./palette.js";
import { ticks } from "./svg.js";

function node(tag, className, parent, text = null) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== null) element.textContent = text;
  if (parent) parent.appendChild(element);
  return element;
}

/**
 * A horizontal colour bar for `scale` (shading.js's valueScale).
 * @param {HTMLElement} parent
 */
export function valueLegend(parent, scale, tint) {
  const legend = node("div", "legend value-legend", parent);
  legend.setAttribute("role", "img");
  legend.setAttribute("aria-label", `Colour scale: ${scale.label} from ${num(scale.lo)} (dark purple) to ${num(scale.hi)} (yellow)`);
  node("span", "legend-title", legend, scale.label);
  const bar = node("div", "legend-bar", legend);
  const stops = Array.from({ length: 9 }, (_, k) => `${viridis(k / 8, tint)} ${(100 * k) / 8}%`);
  bar.style.backgroundImage = `linear-gradient(to right, ${stops.join(", ")})`;
  const labels = node("div", "legend-ticks", legend);
  labels.setAttribute("aria-hidden", "true");
  for (const v of ticks(scale.lo, scale.hi, 5)) {
    const tick = node("span", "legend-tick", labels, num(v));
    tick.style.left = `${(100 * (v - scale.lo)) / (scale.hi - scale.lo)}%`;
  }
  legend.dataset.lo = scale.lo;
  legend.dataset.hi = scale.hi;
  return legend;
}

/**
 * The classes of a classifier: a swatch of each class's colour and marker shape.
 * @param {HTMLElement} parent
 * @param {Array<string|number>} classes
 */
export function classLegend(parent, classes) {
  const legend = node("ul", "legend class-legend", parent);
  legend.setAttribute("aria-label", "Classes");
  classes.forEach((label, k) => {
    const item = node("li", "", legend);
    const swatch = node("span", `swatch ${CLASS_SHAPES[k % CLASS_SHAPES.length]}`, item);
    swatch.style.backgroundColor = classColor(k);
    swatch.setAttribute("aria-hidden", "true");
    node("span", "", item, `class ${label}`);
  });
  return legend;
}
