// Numbers and formulas as the page writes them: a true minus sign, a few digits.

const MINUS = "\u2212";

/** A number with `digits` significant digits, a real minus sign and no "-0". */
export function num(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : `${MINUS}∞`;
  if (value === 0 || Math.abs(value) < 1e-12) return "0";
  const abs = Math.abs(value);
  let text;
  if (abs >= 1e5 || abs < 1e-3) text = value.toExponential(digits - 1);
  else text = String(Number(value.toPrecision(digits)));
  return text.replace("-", MINUS);
}

/** A metric value as the metrics table shows it: four significant digits. */
export function metric(value) {
  return num(value, 4);
}

/**
 * An affine map as a formula: `y = 1.3·x1 − 0.2·x2 + 0.7`.
 * @param {number[]} coef - one coefficient per input
 * @param {number} intercept
 * @param {string} lhs - the left-hand side, e.g. "y" or "logit"
 */
export function affine(coef, intercept, lhs = "y") {
  const names = coef.length === 1 ? ["x"] : coef.map((_, i) => `x${i + 1}`);
  const terms = [];
  coef.forEach((c, i) => {
    if (Math.abs(c) < 1e-12) return;
    const sign = c < 0 ? MINUS : "+";
    const magnitude = num(Math.abs(c));
    terms.push({ sign, text: `${magnitude === "1" ? "" : `${magnitude}·`}${names[i]}` });
  });
  if (Math.abs(intercept) >= 1e-12 || terms.length === 0) {
    terms.push({ sign: intercept < 0 ? MINUS : "+", text: num(Math.abs(intercept)) });
  }
  const body = terms
    .map((term, i) => (i === 0 ? (term.sign === "+" ? term.text : `${MINUS}${term.text}`) : ` ${term.sign} ${term.text}`))
    .join("");
  return `${lhs} = ${body}`;
}

/** An activation pattern split by layer: "0110 10". */
export function pattern(bits, sizes) {
  if (!sizes || sizes.length < 2) return bits;
  const parts = [];
  let start = 0;
  for (const size of sizes) {
    parts.push(bits.slice(start, start + size));
    start += size;
  }
  return parts.join(" ");
}

/** A hidden unit's name: layer from 1, unit from 0. */
export function unitName(layer, unit) {
  return `L${layer}·u${unit}`;
}
