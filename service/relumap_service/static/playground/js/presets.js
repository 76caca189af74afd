// The networks drawn by hand in the forum threads, offered as editor presets.
// ../seed_networks.json is a verbatim copy of the project's shared
// examples/seed_networks.json (the page cannot read files outside the package);
// tests/api/test_plots_api.py checks that the two stay equal.

// Networks given by a formula instead of weights, keyed by that formula.
const GENERATORS = {
  "coefs[0][:, k] = [cos(pi*k/8), sin(pi*k/8)], intercepts[0][k] = -1 for k = 0..7; coefs[1] = ones((8, 1)); intercepts[1] = [0]":
    () => {
      const k = [0, 1, 2, 3, 4, 5, 6, 7];
      return {
        coefs: [[k.map((i) => Math.cos((Math.PI * i) / 8)), k.map((i) => Math.sin((Math.PI * i) / 8))], k.map(() => [1])],
        intercepts: [k.map(() => -1), [0]],
      };
    },
};

/** The editor's document for one case: the body of POST /v1/networks. */
export function presetDocument(example) {
  let { coefs, intercepts } = example.network;
  if (example.network.generator) {
    const make = GENERATORS[example.network.generator];
    if (!make) return null;
    ({ coefs, intercepts } = make());
  }
  return {
    name: example.name,
    coefs,
    intercepts,
    activation: example.network.activation,
    output_activation: example.network.output_activation,
    domain: example.domain || example.box,
  };
}

/** Load the presets: [{name, source, document}], skipping any the page cannot build. */
export async function loadPresets() {
  const response = await fetch(new URL("../seed_networks.json", import.meta.url));
  if (!response.ok) return [];
  const { cases } = await response.json();
  return cases
    .map((example) => ({ name: example.name, source: example.source, document: presetDocument(example) }))
    .filter((preset) => preset.document !== null);
}

/** JSON with one key per line and compact values: easy to read and to edit by hand. */
export function formatDocument(document) {
  const lines = Object.entries(document).map(([key, value]) => `  ${JSON.stringify(key)}: ${JSON.stringify(value)}`);
  return `{\n${lines.join(",\n")}\n}`;
}
