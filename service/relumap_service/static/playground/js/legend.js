// The legend under a 2D map, in HTML: the value scale of "colour by output value"
// (the same tinted viridis as the regions, with round ticks). The classes' legend
// (colour and marker shape) is controls.js's, for 1D and 2D alike.

import { num } from "./format.js";
import { viridis } from "./palette.js";
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
