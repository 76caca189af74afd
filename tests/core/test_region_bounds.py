import itertools
from math import comb, prod

import pytest

from relumap_service.core.bounds import (
    max_knots_1d,
    max_pieces_1d,
    max_regions_one_layer,
    serra_bound,
)


def serra_by_enumeration(widths, n0, rank_drop=True):
    """Theorem 1 of Serra et al. (2018), summed over every tuple of J."""
    total = 0
    for js in itertools.product(*(range(n + 1) for n in widths)):
        ok, running = True, n0
        for n, j in zip(widths, js, strict=True):
            if not j <= min(running, n):
                ok = False
                break
            running = min(running, n - j) if rank_drop else min(running, n)
        if ok:
            total += prod(comb(n, j) for n, j in zip(widths, js, strict=True))
    return total


@pytest.mark.parametrize(
    "widths", [(1,), (3,), (5, 2), (2, 5), (3, 3), (4, 1, 4), (2, 3, 4, 2), (6, 6, 6)]
)
@pytest.mark.parametrize("n0", [1, 2, 3])
@pytest.mark.parametrize("rank_drop", [True, False])
def test_serra_dynamic_programme_equals_enumeration(widths, n0, rank_drop):
    assert serra_bound(widths, n0, rank_drop=rank_drop) == serra_by_enumeration(
        widths, n0, rank_drop
    )


@pytest.mark.parametrize("n", [0, 1, 2, 3, 8, 64, 128])
def test_one_layer_is_zaslavsky(n):
    expected = 1 + n + n * (n - 1) // 2
    assert max_regions_one_layer(n) == expected == serra_bound((n,), 2)


def test_zaslavsky_in_higher_dimension():
    assert max_regions_one_layer(4, n_inputs=3) == 1 + 4 + 6 + 4
    assert max_regions_one_layer(2, n_inputs=5) == 4


def test_wide_deep_bound_is_exact_big_integer():
    value = serra_bound((128, 128, 128), 2)
    assert isinstance(value, int) and value > 2**64 // 10**8
    # With n0 = 2, j_l <= 2 always; the bound is below the product of one-layer counts.
    assert value <= max_regions_one_layer(128) ** 3


def test_one_dimensional_bounds():
    assert max_pieces_1d((256, 256, 256)) == 257**3
    assert max_knots_1d((7,)) == 7
    assert max_knots_1d(()) == 0
    assert serra_bound((), 2) == 1


def test_negative_widths_raise():
    with pytest.raises(ValueError, match="non-negative"):
        serra_bound((3, -1), 2)
    with pytest.raises(ValueError, match="non-negative"):
        max_regions_one_layer(-1)
