"""Model.snapshots(), snapshot= and include_units= through the client, on a live service."""

from __future__ import annotations

import numpy as np

import relumap
from relumap.regions import NPZ


def test_snapshots_and_contributions_of_a_one_input_fit(
    session_api: relumap.Client, square: relumap.Dataset
) -> None:
    model = session_api.fit(square, hidden_layer_sizes=[4], snapshots=4, progress=False)
    snapshots = model.snapshots()
    assert all(isinstance(s, relumap.Snapshot) for s in snapshots)
    assert [s.index for s in snapshots] == list(range(model.n_snapshots)) == [0, 1, 2, 3]
    assert snapshots[-1].iteration == model.n_iter and snapshots[0].iteration == 1
    assert model.stop_reason and model.stop_reason.split(":")[0] in ("CONVERGENCE", "ABNORMAL")
    last = model.weights(snapshot=3)
    for a, b in zip(last.coefs, model.weights().coefs, strict=True):
        np.testing.assert_array_equal(a, b)

    first = model.knots(snapshot=0, include_units=True)
    assert first.n_pieces == snapshots[0].n_pieces and first.units is not None
    units = first.units
    assert units.contribution_gradients is not None and units.output_bias is not None
    np.testing.assert_allclose(units.contribution_gradients.sum(axis=2), first.slopes, atol=1e-9)
    assert units.contribution_intercepts is not None
    np.testing.assert_allclose(
        units.contribution_intercepts.sum(axis=2) + units.output_bias, first.intercepts, atol=1e-9
    )
    # Independent: the first snapshot's hidden units at each piece's midpoint.
    weights = model.weights(snapshot=0)
    mid = (first.piece_lo + first.piece_hi) / 2
    hidden = np.maximum(mid[:, None] @ weights.coefs[0] + weights.intercepts[0], 0.0)
    np.testing.assert_allclose(
        units.gradients[0][:, :, 0] * mid[:, None] + units.intercepts[0], hidden, atol=1e-9
    )
    assert model.knots().units is None


def test_region_units_come_through_the_npz_answer(
    session_api: relumap.Client, xor: relumap.Dataset
) -> None:
    model = session_api.fit(xor, hidden_layer_sizes=[4], snapshots=2, progress=False)
    seen: list[str] = []
    hook = lambda r, *a, **k: seen.append(r.headers["Content-Type"])  # noqa: E731
    session_api.session.hooks["response"].append(hook)
    try:
        regions = model.regions(snapshot=0, include_units=True)
    finally:
        session_api.session.hooks["response"].remove(hook)
    assert seen == [NPZ] and regions.units is not None
    weights = model.weights(snapshot=0)
    pre = regions.interior_points @ weights.coefs[0] + weights.intercepts[0]
    got = np.einsum("rui,ri->ru", regions.units.gradients[0], regions.interior_points)
    np.testing.assert_allclose(got + regions.units.intercepts[0], pre, atol=1e-9)
    assert regions.n_regions == model.snapshots()[0].n_regions
