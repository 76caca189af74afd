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

/**
 * The extra query of /knots or /regions for the learning view: per-unit maps, and a
 * snapshot's index (null for the fitted model itself).
 */
export function learningQuery(model, snapshot = null) {
  if (!learningSupported() || model.status !== "succeeded") return {};
  const query = { include: "units" };
  if (snapshot !== null) query.snapshot = String(snapshot);
  return query;
}

/**
 * Wire the learning view.
 * @param {object} hooks
 * @param {(model: object, snapshot: number) => Promise<object>} hooks.load - a snapshot's geometry
 * @param {(geometry: object, snapshot: number | null) => void} hooks.redraw - show it on the map
 */
export function createLearningView({ load, redraw }) {
  const player = createPlayer({
    load,
    show: (geometry, index, last) => redraw(geometry, last ? null : index),
  });
  let lastShown = null;

  function drawAddsUp(shown) {
    const section = $("adds-up");
    const oneInput = Boolean(shown.geometry.knots);
    const drawn =
      oneInput &&
      drawContributions($("adds-up-chart"), $("adds-up-legend"), {
        knots: shown.geometry,
        model: shown.model,
        // A snapshot's weights are not the fitted ones: name the units only.
        weights: shown.snapshot === null || shown.snapshot === undefined ? shown.weights : { coefs: shown.weights.coefs.map(() => null) },
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
    const note = drawUnitMaps($("unit-maps-grid"), { regions: shown.geometry, weights: shown.weights });
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
    /** A new model is on the map: list its snapshots (none for a network by hand). */
    async started(shown) {
      const { model } = shown;
      if (!learningSupported() || !model.n_snapshots) {
        player.stop();
        return;
      }
      try {
        const { snapshots } = await api.snapshots(model.id);
        await player.start(model, shown.geometry, snapshots);
      } catch (error) {
        player.stop();
        $("status").textContent += ` (the training snapshots could not be listed: ${error.message})`;
      }
    },
    stop: () => player.stop(),
  };
}
