// The learning view beside the map: training playback over the recorded snapshots,
// "how it adds up" in 1D and every hidden unit's own map in 2D. main.js calls
// `query` when it loads a geometry, `drawn` after each drawing and `started` when a
// new model is shown.

import { api } from "./api.js";
import { learningSupported } from "./controls.js";
import { drawContributions, targetFunction } from "./contributions.js";
import { createPlayer } from "./training.js";
import { drawUnitMaps } from "./units.js";

const $ = (id) => document.getElementById(id);

// More units than the thumbnails draw are not worth asking the service for.
const MAX_UNIT_MAPS = 64;

/**
 * Fetch a geometry for the learning view: a snapshot's (null for the fitted model
 * itself), with per-unit maps when the service gives them and they are worth it.
 * Per-unit maps count against the service's size limit: if they are refused (422),
 * the map is fetched without them.
 * @param {(extra: object) => Promise<object>} fetch - /knots or /regions with an extra query
 */
export async function withUnits(fetch, model, snapshot, line) {
  const extra = snapshot === null ? {} : { snapshot: String(snapshot) };
  const units = (model.params?.hidden_layer_sizes || []).reduce((sum, size) => sum + size, 0);
  if (!learningSupported() || (!line && units > MAX_UNIT_MAPS)) return fetch(extra);
  try {
    return await fetch({ ...extra, include: "units" });
  } catch (error) {
    if (error.status !== 422) throw error;
    return fetch(extra);
  }
}

/**
 * Wire the learning view.
 * @param {object} hooks
 * @param {(model: object, snapshot: number) => Promise<object>} hooks.load - a snapshot's
 *   {model, weights, geometry}
 * @param {(frame: object, snapshot: number | null) => void} hooks.redraw - show it on the map
 */
export function createLearningView({ load, redraw }) {
  const player = createPlayer({
    load,
    show: (frame, index, last) => redraw(frame, last ? null : index),
  });
  let lastShown = null;
  // The map whose snapshots are being listed last (see started).
  let latest = null;
  // Geometry answer -> its thumbnails' nodes (dropped with the answer).
  const thumbnails = new WeakMap();

  function drawAddsUp(shown) {
    const section = $("adds-up");
    const oneInput = Boolean(shown.geometry.knots);
    const drawn =
      oneInput &&
      drawContributions($("adds-up-chart"), $("adds-up-legend"), {
        knots: shown.geometry,
        model: shown.model,
        weights: shown.weights,
        target: targetFunction(shown),
        mode: $("adds-up-mode").value,
      });
    section.hidden = !drawn;
  }

  function drawUnits(shown) {
    const section = $("unit-maps");
    const twoD = !shown.geometry.knots && shown.geometry.units;
    section.hidden = !twoD;
    if (!twoD) return;
    const grid = $("unit-maps-grid");
    // Playback shows a snapshot again and again: its thumbnails are built once.
    let built = thumbnails.get(shown.geometry);
    if (!built) {
      const note = drawUnitMaps(grid, { regions: shown.geometry, weights: shown.weights });
      built = { note, nodes: [...grid.children] };
      thumbnails.set(shown.geometry, built);
    } else {
      grid.replaceChildren(...built.nodes);
    }
    const { note } = built;
    $("unit-maps-help").textContent =
      note ||
      "Each unit's activation over the plane, exact on every region (white where it is off; blue below zero for a linear unit), with the line, or the bent lines, where it switches. Press one to highlight it on the map.";
  }

  $("adds-up-mode").addEventListener("change", () => {
    if (lastShown) drawAddsUp(lastShown);
  });

  return {
    /** After every drawing of the main map. */
    drawn(shown) {
      lastShown = shown;
      drawAddsUp(shown);
      drawUnits(shown);
      if (shown.snapshot !== null && shown.snapshot !== undefined) {
        $("caption-main").append(` Shown: snapshot ${shown.snapshot + 1} of the training, not the fitted model.`);
      }
    },
    /**
     * A new model is on the map: list its snapshots (none for a network by hand).
     * @returns {Promise<string>} a sentence for the status line if that failed, else ""
     */
    async started(shown) {
      const { model } = shown;
      latest = shown;
      // The previous model's training must not stay on screen while this one's loads.
      player.stop();
      if (!learningSupported() || !model.n_snapshots) return "";
      try {
        const { snapshots } = await api.snapshots(model.id);
        // Another map was shown meanwhile (a slice chosen quickly): its call starts the player.
        if (latest !== shown) return "";
        await player.start(model, { model, weights: shown.weights, geometry: shown.geometry }, snapshots);
        return "";
      } catch (error) {
        if (latest === shown) player.stop();
        return ` The training snapshots could not be listed: ${error.message}.`;
      }
    },
    stop: () => player.stop(),
  };
}
