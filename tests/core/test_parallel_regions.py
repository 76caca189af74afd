import multiprocessing
import os
from pathlib import Path

import numpy as np
import pytest
import shapely
from geometry_oracles import check_partition, he_network

from relumap_service import fit_process
from relumap_service.core import parallel_regions
from relumap_service.core.limits import DeadlineExceeded, WorkBudget
from relumap_service.core.network import Network
from relumap_service.core.parallel_regions import (
    StripMap,
    _Cancelled,
    _strip_boxes,
    _StripBudget,
    regions_2d_parallel,
    stitch,
    strip_seams,
)
from relumap_service.core.regions import RegionLimitExceeded, regions_2d

BOX = ((-3.0, -3.0), (3.0, 3.0))

# Integer weights: lines through integer points, several through the same point,
# a second layer bending on the first layer's lines.
INTEGER = Network(
    [
        np.array([[1.0, 1.0, 1.0, 0.0, 2.0, 1.0], [1.0, -1.0, 0.0, 1.0, 1.0, 2.0]]),
        np.array(
            [[1.0, -1, 2], [2, 1, -1], [1, 1, 1], [-1, 2, 1], [1, 1, -2], [0, 1, 1]],
            dtype=float,
        ),
        np.array([[1.0], [2.0], [-1.0]]),
    ],
    [np.array([0.0, 1.0, -1.0, 0.0, 1.0, -2.0]), np.array([0.0, 1.0, -1.0]), np.zeros(1)],
)


def sorted_rings(regions, order=None):
    """Vertices of the regions (in ``order``), each region's sorted by x then y."""
    order = np.arange(regions.n_regions) if order is None else order
    counts = np.diff(regions.offsets)[order]
    starts = regions.offsets[order]
    at = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    vertices = regions.vertices[at]
    owner = np.repeat(np.arange(order.size), counts)
    rank = np.lexsort((vertices[:, 1].round(9), vertices[:, 0].round(9), owner))
    return vertices[rank]


def same_map(expected, got):
    """The same regions (by pattern), maps, areas, vertex counts and linear regions."""
    assert got.n_regions == expected.n_regions
    assert got.n_linear_regions == expected.n_linear_regions
    assert got.points.shape == expected.points.shape
    index = {p.tobytes(): i for i, p in enumerate(got.patterns)}
    assert len(index) == got.n_regions
    mine = np.array([index[p.tobytes()] for p in expected.patterns])
    scale = 1.0 + np.abs(expected.gradients).max()
    np.testing.assert_allclose(got.gradients[mine], expected.gradients, atol=1e-12 * scale)
    np.testing.assert_allclose(got.areas[mine], expected.areas, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(np.diff(got.offsets)[mine], np.diff(expected.offsets))
    pairs = set(zip(expected.linear_region.tolist(), got.linear_region[mine].tolist(), strict=True))
    assert len(pairs) == expected.n_linear_regions
    # Linear regions numbered in order of their first region.
    assert got.linear_region[0] == 0
    assert np.diff(np.maximum.accumulate(got.linear_region)).max(initial=1) <= 1
    # Each region's vertices, sorted, within rounding of the other map's.
    np.testing.assert_allclose(sorted_rings(got, mine), sorted_rings(expected), atol=1e-12)
    polygons = shapely.polygons([shapely.linearrings(p) for p in got.polygons])
    assert shapely.coverage_is_valid(polygons)


@pytest.mark.parametrize(
    ("sizes", "seed", "strips"),
    [
        ((2, 8, 1), 0, 2),
        ((2, 6, 6, 2), 4, 3),
        pytest.param((2, 16, 16, 1), 1, 3, marks=pytest.mark.slow),
        pytest.param((2, 10, 10, 10, 2), 2, 5, marks=pytest.mark.slow),
        pytest.param((2, 24, 24, 1), 3, 4, marks=pytest.mark.slow),
    ],
)
def test_strips_give_the_single_process_map(sizes, seed, strips):
    net = he_network(sizes, seed)
    got = regions_2d_parallel(net, BOX, processes=1, strips=strips)
    check_partition(net, BOX, got, n_points=1000, seed=seed)
    same_map(regions_2d(net, BOX), got)


@pytest.mark.parametrize("seams", [[0.0], [-1.0, 1.0], [-2.0, -1.0, 0.0, 1.0, 2.0], [0.5, 1.5]])
def test_seams_through_exact_concurrences(seams):
    # Seams at integers pass through points where two or three lines meet
    # exactly, and where second-layer lines bend.
    expected = regions_2d(INTEGER, BOX)
    got = regions_2d_parallel(INTEGER, BOX, processes=1, seams=seams)
    check_partition(INTEGER, BOX, got, n_points=1000)
    same_map(expected, got)


def test_a_region_spans_several_seams():
    net = Network([np.array([[1.0, 0.0], [1.0, 1.0]]), np.ones((2, 1))], [[0.0, 0.5], [0.0]])
    seams = [-2.0, -1.0, 0.0, 1.0, 2.0]
    got = regions_2d_parallel(net, BOX, processes=1, seams=seams)
    spans = [np.sum((p[:, 0].min() < seams) & (p[:, 0].max() > seams)) for p in got.polygons]
    assert max(spans) >= 3
    same_map(regions_2d(net, BOX), got)


def test_a_seam_on_a_units_line_falls_back_to_one_map():
    # x = 0 and x = 1 are zero lines of units: pieces across them differ in pattern.
    net = Network(
        [np.array([[1.0, 1.0, 1.0], [0.0, 1.0, -1.0]]), np.ones((3, 1))], [[0, -1, 0], [0]]
    )
    got = regions_2d_parallel(net, BOX, processes=1, seams=[0.0, 1.0])
    same_map(regions_2d(net, BOX), got)


def test_limits_and_deadline_hold_across_strips():
    net = he_network((2, 6, 6, 1), 1)
    count = regions_2d(net, BOX).n_regions
    with pytest.raises(RegionLimitExceeded) as info:
        regions_2d_parallel(net, BOX, count - 1, processes=1, strips=3)
    assert info.value.limit == count - 1
    assert regions_2d_parallel(net, BOX, count, processes=1, strips=3).n_regions == count
    with pytest.raises(DeadlineExceeded):
        regions_2d_parallel(net, BOX, processes=1, strips=3, budget=WorkBudget(0.0))


def test_seams_are_inside_the_box():
    seams = strip_seams(((0, 0), (1, 1)), 4)
    np.testing.assert_allclose(seams, [0.25, 0.5, 0.75], atol=0.01)
    assert 0.5 not in seams  # off round numbers, where hand-made networks put lines
    assert strip_seams(((1.0, 0), (np.nextafter(1.0, 2), 1)), 4) == []
    with pytest.raises(ValueError, match="seams"):
        regions_2d_parallel(INTEGER, BOX, processes=1, seams=[1.0, 0.0])
    with pytest.raises(ValueError, match="processes"):
        regions_2d_parallel(INTEGER, BOX, processes=0)


def _strip_counts(net, seams):
    return [regions_2d(net, box).n_regions for box in _strip_boxes(BOX, seams)]


def test_seams_share_out_the_regions():
    # He-initialised lines crowd around the origin: equal widths leave the
    # outer strips almost empty; seams at the first layer's vertices' quantiles
    # give each strip a fair share of the map.
    net = he_network((2, 48, 48, 1), 5)
    even = _strip_counts(net, strip_seams(BOX, 4))
    balanced = _strip_counts(net, strip_seams(BOX, 4, net))
    assert max(even) > 5 * min(even)
    assert max(balanced) < 2 * min(balanced)
    assert sum(balanced) >= regions_2d(net, BOX).n_regions


def test_seams_keep_off_vertical_lines():
    # Twelve vertical lines at x = -1.5, -1.25, ..., 1.25, each crossed by twelve
    # slanted ones: the quantiles of the vertices' abscissas fall on them.
    k = np.arange(12)
    w = np.concatenate(
        [np.stack([np.ones(12), np.zeros(12)]), np.stack([k / 12 - 0.5, np.ones(12)])], 1
    )
    b = np.concatenate([1.5 - k / 4, k / 6 - 1])
    net = Network([w, np.ones((24, 1))], [b, np.zeros(1)])
    seams = strip_seams(BOX, 4, net)
    assert len(seams) == 3
    assert not set(seams) & set((k / 4 - 1.5).tolist())
    maps = [StripMap.of(regions_2d(net, box)) for box in _strip_boxes(BOX, seams)]
    same_map(regions_2d(net, BOX), stitch(maps, BOX, seams, net.hidden_layer_sizes))


def test_few_vertices_leave_equal_widths():
    net = Network([np.array([[1.0, 0.0], [0.0, 1.0]]), np.ones((2, 1))], [np.zeros(2), np.zeros(1)])
    assert strip_seams(BOX, 4, net) == strip_seams(BOX, 4)


def _descendants() -> dict[int, bytes]:
    """Processes below this one (pid: command line), but its long-lived servers.

    The forkserver and the resource tracker live as long as this process;
    the workers forked from the forkserver are counted.
    """
    children: dict[int, list[tuple[int, bytes]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append((int(entry.name), command))
    found, todo = {}, [os.getpid()]
    while todo:
        pid = todo.pop()
        for child, command in children.get(pid, []):
            server = pid == os.getpid() and (
                b"forkserver" in command or b"resource_tracker" in command
            )
            if not server:
                found[child] = command
            todo.append(child)
    return found


def _spare_pids() -> set[int]:
    with fit_process._pool_lock:
        return {fit.process.pid for fit in fit_process._idle}


def test_worker_processes_give_the_same_map_and_end():
    # As the service does: the forkserver imports the engine once, its forks need not.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["relumap_service.core.parallel_regions"])
    before, spares = _descendants(), _spare_pids()
    got = regions_2d_parallel(INTEGER, BOX, processes=2, seams=[-1.0, 0.0, 1.0])
    same_map(regions_2d(INTEGER, BOX), got)
    # A strip over the limit raises in its worker; the error crosses back.
    with pytest.raises(RegionLimitExceeded):
        regions_2d_parallel(INTEGER, BOX, 3, processes=2, strips=2)
    # Unchanged, but for the spare fit process that a consumer of this process
    # (another test's app) may keep.
    spares |= _spare_pids()
    assert _descendants().keys() - spares == before.keys() - spares
    assert all(b"forkserver" not in before[pid] for pid in before.keys() - spares)


def test_a_strip_stops_at_its_next_check_once_another_has_failed(monkeypatch):
    cancel = multiprocessing.get_context("forkserver").Event()
    monkeypatch.setattr(parallel_regions, "_cancel", cancel)
    budget = _StripBudget(None)
    budget.check()
    cancel.set()
    with pytest.raises(_Cancelled):
        budget.check()


@pytest.mark.parametrize("failure", ["limit", "deadline"])
def test_a_failing_strip_kills_no_worker(failure, monkeypatch):
    # Workers killed while they send an answer can leave the results queue's
    # lock held and the pool's terminate waiting forever (CPython gh-96995):
    # the other strips stop and the workers leave on their own.
    killed = []
    terminate = multiprocessing.process.BaseProcess.terminate

    def spy(process):
        if process.exitcode is None:
            killed.append(process.pid)
        terminate(process)

    monkeypatch.setattr(multiprocessing.process.BaseProcess, "terminate", spy)
    net = he_network((2, 24, 24, 1), 3)
    if failure == "limit":
        with pytest.raises(RegionLimitExceeded):
            regions_2d_parallel(net, BOX, 20, processes=2, strips=4)
    else:
        with pytest.raises(DeadlineExceeded):
            regions_2d_parallel(net, BOX, processes=2, strips=4, budget=WorkBudget(0.0))
    assert killed == []
