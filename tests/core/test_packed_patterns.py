"""Activation patterns are held as bits: in the engine, between processes, in the map."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
from geometry_oracles import check_partition, he_network, pre_activations

from relumap_service.core.bits import (
    BitColumns,
    LayerPatterns,
    append_bits,
    bit_at,
    set_bits_at,
    set_column,
    unpack_columns,
)
from relumap_service.core.diagnostics import neuron_diagnostics
from relumap_service.core.parallel_regions import regions_2d_parallel
from relumap_service.core.regions import regions_2d

BOX = ((-3.0, -3.0), (3.0, 3.0))


def _unpacked(regions) -> bool:
    """Whether the map's boolean patterns were built (the cached property ran)."""
    return "patterns" in vars(regions)


@pytest.mark.parametrize("n_head", range(17))
@pytest.mark.parametrize("n_tail", [1, 7, 8, 9, 23])
def test_append_bits_is_packbits_of_the_joined_rows(n_head, n_tail):
    rng = np.random.default_rng(n_head * 31 + n_tail)
    head = rng.random((13, n_head)) < 0.5
    tail = rng.random((13, n_tail)) < 0.5
    got = append_bits(np.packbits(head, axis=1), n_head, np.packbits(tail, axis=1), n_tail)
    np.testing.assert_array_equal(got, np.packbits(np.concatenate([head, tail], axis=1), axis=1))


def test_bit_operations_agree_with_booleans():
    rng = np.random.default_rng(5)
    bools = rng.random((40, 29)) < 0.5
    bits = np.packbits(bools, axis=1)
    rows = rng.choice(40, 15, replace=False)
    columns = rng.integers(0, 29, rows.size)
    np.testing.assert_array_equal(bit_at(bits, rows, columns), bools[rows, columns])
    np.testing.assert_array_equal(unpack_columns(bits, 5, 17), bools[:, 5:22])
    np.testing.assert_array_equal(BitColumns(bits, 11, 18)[rows], bools[rows, 11:])
    layers = LayerPatterns(bits, (5, 13, 11)).row(7)
    for got, want in zip(layers, np.split(bools[7], [5, 18]), strict=True):
        np.testing.assert_array_equal(got, want)


def test_bits_set_by_row_and_by_column_are_packbits_of_the_booleans():
    rng = np.random.default_rng(3)
    n_rows, n_units = 40, 21
    bits = np.zeros((n_rows + 5, 3), np.uint8)
    expected = np.zeros((n_rows + 5, n_units), dtype=bool)
    # A round sets one unit per row (distinct rows, any units) ...
    rows = rng.permutation(n_rows)[:25]
    units = rng.integers(0, n_units, rows.size)
    set_bits_at(bits, rows, units)
    expected[rows, units] = True
    # ... a one-root round one unit in every row where the mask holds.
    for unit in (0, 7, 8, 20):
        on = rng.random(n_rows) > 0.5
        set_column(bits, unit, on)
        expected[:n_rows, unit] |= on
    assert np.array_equal(bits, np.packbits(expected, axis=1))


@pytest.mark.parametrize(
    ("sizes", "seed", "activation"),
    [
        ((2, 33, 17, 9, 1), 0, "relu"),
        ((2, 12, 12, 3), 4, "leaky_relu"),
        ((2, 40, 24, 1), 2, "relu"),
    ],
)
def test_the_map_holds_bits_that_unpack_to_the_forward_patterns(sizes, seed, activation):
    net = he_network(sizes, seed, activation=activation)
    r = regions_2d(net, BOX)
    n_hidden = sum(sizes[1:-1])
    assert r.n_hidden == n_hidden
    assert r.packed_patterns.dtype == np.uint8
    assert r.packed_patterns.shape == (r.n_regions, (n_hidden + 7) // 8)
    assert not _unpacked(r)
    # Unused bits of each row's last byte are zero: rows compare as patterns.
    assert np.all(np.unpackbits(r.packed_patterns, axis=1)[:, n_hidden:] == 0)
    # What the JSON and the diagnostics read, without building the booleans.
    strings = r.to_dict()["patterns"]
    diagnostics = neuron_diagnostics(net, r)
    assert not _unpacked(r)
    assert r.pattern(3).tolist() == [c == "1" for c in strings[3]]
    patterns = r.patterns
    assert patterns.dtype == bool and patterns.shape == (r.n_regions, n_hidden)
    assert r.patterns is patterns
    np.testing.assert_array_equal(np.packbits(patterns, axis=1), r.packed_patterns)
    assert strings == ["".join("1" if b else "0" for b in row) for row in patterns]
    np.testing.assert_array_equal(diagnostics.dead_on_domain, ~patterns.any(axis=0))
    np.testing.assert_array_equal(diagnostics.always_active_on_domain, patterns.all(axis=0))
    # The independent check: the forward pass at random points and at interior points.
    check_partition(net, BOX, r, n_points=1500, seed=seed)
    pre = pre_activations(net, r.interior_points)
    clear = np.abs(pre) > 1e-9 * (1.0 + np.abs(pre).max(initial=0.0))
    np.testing.assert_array_equal(r.patterns[clear], (pre > 0)[clear])


def test_strips_travel_and_are_stitched_as_bits():
    net = he_network((2, 30, 13, 1), 1)
    one = regions_2d(net, BOX)
    strips = regions_2d_parallel(net, BOX, processes=1, strips=3)
    assert strips.packed_patterns.dtype == np.uint8 and not _unpacked(strips)
    assert {p.tobytes() for p in strips.packed_patterns} == {
        p.tobytes() for p in one.packed_patterns
    }
    assert strips.n_regions == one.n_regions


def test_the_npz_sends_the_bits_as_they_are():
    from relumap import regions as client_regions
    from relumap_service.api.transport import regions_npz

    net = he_network((2, 21, 11, 1), 3)
    r = regions_2d(net, BOX)
    data = regions_npz(r, {"n_regions": r.n_regions})
    assert not _unpacked(r)
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        np.testing.assert_array_equal(archive["patterns"], r.packed_patterns)
        document = {"patterns": archive["patterns"], "n_hidden": 32}
    # The client keeps the .npz's bits as they are (and reads JSON strings into bits).
    assert client_regions._packed_patterns(document["patterns"]) is document["patterns"]
    assert client_regions._n_hidden(document) == r.n_hidden == 32
    strings = r.to_dict()["patterns"]
    np.testing.assert_array_equal(client_regions._packed_patterns(strings), r.packed_patterns)
    assert client_regions._n_hidden({"patterns": strings}) == 32


def test_engine_memory_per_region_is_small():
    """A bound per region on the engine's peak and on what the map holds.

    With one byte per hidden unit per polygon, 2-96-96-1 (17,135 regions)
    peaked at about 2,590 bytes per region and its map held 368; as bits,
    about 2,100 and 200.
    """
    net = he_network((2, 96, 96, 1), 0)
    regions_2d(net, BOX)  # imports and caches outside the measurement
    tracemalloc.start()
    try:
        r = regions_2d(net, BOX)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.n_regions > 15_000
    assert r.packed_patterns.nbytes == r.n_regions * 192 // 8
    assert held / r.n_regions < 260
    assert peak / r.n_regions < 2_350
