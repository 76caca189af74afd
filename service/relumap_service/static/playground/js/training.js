// Training playback: step or play through the snapshots the fit recorded, loading
// each snapshot's exact knots or regions once (then from a cache), so the map morphs
// as the network learns, beside its loss curve and piece or region count.

import { drawTrainingChart, snapshotSentence } from "./losscurve.js";

const $ = (id) => document.getElementById(id);
const FRAME_MS = 450;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The player of the "Watch it learn" section.
 * @param {object} options
 * @param {(model: object, index: number) => Promise<object>} options.load - a snapshot's
 *   {model, weights, geometry}
 * @param {(frame: object, index: number, last: boolean) => void} options.show - draw it
 */
export function createPlayer({ load, show }) {
  let run = null; // {model, snapshots, cache, index, mark, playing}

  const section = $("training");
  const slider = $("train-slider");
  const playButton = $("train-play");

  function setPlaying(playing) {
    if (!run) return;
    run.playing = playing;
    playButton.setAttribute("aria-pressed", String(playing));
    playButton.textContent = playing ? "❚❚ pause" : "▶ play";
  }

  function geometry(current, index) {
    if (!current.cache.has(index)) {
      const pending = load(current.model, index);
      current.cache.set(index, pending);
      // A failed load is not cached: the next step asks again.
      pending.catch(() => current.cache.delete(index));
    }
    return current.cache.get(index);
  }

  async function go(index) {
    const current = run;
    if (!current) return;
    const last = current.snapshots.length - 1;
    index = Math.max(0, Math.min(index, last));
    current.index = index;
    slider.value = String(index);
    slider.setAttribute("aria-valuetext", `snapshot ${index + 1} of ${last + 1}`);
    current.mark(index);
    const s = current.snapshots[index];
    $("train-counter").textContent = `Snapshot ${index + 1} of ${last + 1}: ${snapshotSentence(s, current.model.n_iter)}`;
    section.dataset.index = String(index);
    section.dataset.iteration = String(s.iteration);
    section.setAttribute("aria-busy", "true");
    let frame;
    try {
      frame = await geometry(current, index);
    } catch (error) {
      if (run === current && current.index === index) {
        $("train-counter").textContent = `Snapshot ${index + 1}: could not load it (${error.message})`;
        setPlaying(false);
      }
      return;
    }
    if (run !== current || current.index !== index) return;
    show(frame, index, index === last);
    section.dataset.shown = String(index);
    section.dataset.count = String(frame.geometry.n_regions ?? frame.geometry.n_pieces);
    section.removeAttribute("aria-busy");
    // Fetch the next frame while this one is looked at.
    if (index < last) geometry(current, index + 1).catch(() => {});
  }

  async function play() {
    const current = run;
    if (!current) return;
    if (current.playing) {
      setPlaying(false);
      return;
    }
    setPlaying(true);
    if (current.index >= current.snapshots.length - 1) await go(0);
    while (run === current && current.playing && current.index < current.snapshots.length - 1) {
      await sleep(FRAME_MS);
      if (run !== current || !current.playing) return;
      await go(current.index + 1);
    }
    if (run === current) setPlaying(false);
  }

  const step = (delta) => {
    setPlaying(false);
    if (run) go(run.index + delta);
  };
  $("train-first").addEventListener("click", () => step(-Infinity));
  $("train-back").addEventListener("click", () => step(-1));
  $("train-forward").addEventListener("click", () => step(1));
  $("train-last").addEventListener("click", () => step(Infinity));
  playButton.addEventListener("click", play);
  slider.addEventListener("input", () => {
    setPlaying(false);
    go(Number(slider.value));
  });

  return {
    /**
     * A new model is shown: list its snapshots and start at the last one (the
     * fitted model, whose frame {model, weights, geometry} is already drawn).
     */
    async start(model, final, snapshots) {
      setPlaying(false);
      run = null;
      section.hidden = !snapshots.length;
      if (!snapshots.length) return;
      const last = snapshots.length - 1;
      const cache = new Map([[last, Promise.resolve(final)]]);
      const mark = drawTrainingChart($("train-chart"), { lossCurve: model.loss_curve, snapshots, nIter: model.n_iter });
      run = { model, snapshots, cache, index: last, mark, playing: false };
      slider.max = String(last);
      slider.setAttribute("aria-valuetext", `snapshot ${last + 1} of ${last + 1}`);
      slider.value = String(last);
      mark(last);
      $("train-counter").textContent = `Snapshot ${last + 1} of ${last + 1} (the fitted model): ${snapshotSentence(snapshots[last], model.n_iter)}`;
      section.dataset.index = String(last);
      section.dataset.shown = String(last);
      section.dataset.count = String(final.geometry.n_regions ?? final.geometry.n_pieces);
    },
    /** Forget the model (another one is shown). */
    stop() {
      setPlaying(false);
      run = null;
      section.hidden = true;
    },
    /** The snapshot shown, or null when the map shows the fitted model itself. */
    snapshot() {
      return run && run.index !== run.snapshots.length - 1 ? run.index : null;
    },
  };
}
