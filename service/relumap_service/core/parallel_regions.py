"""Large region maps on several cores: the box cut into vertical strips, mapped apart, stitched.

Each strip ``[s_i, s_{i+1}] x [y_min, y_max]`` is an exact region map of its
own (:func:`relumap_service.core.regions.regions_2d`, in a worker process).
An activation region is convex, so a region crossing a seam ``x = s`` is cut
into one piece per strip, and its pieces are the only ones with its
activation pattern. Stitching is combinatorial, no arithmetic:

1. Along a seam, each strip's pieces touching it with an edge partition the
   seam into intervals. Where no line of the map lies on the seam, both
   sides show the same regions in the same order: the k-th interval from the
   left and the k-th from the right carry the same pattern and the same
   exact end points. This is checked; pieces are joined in pairs, and the
   right side's seam points become the left side's.
2. A seam point stays a vertex of the map if and only if three or more
   regions meet there (two at the top or bottom of the box): two convex
   regions that cover a disc around a point meet along a straight line
   through it, with no corner at it.
3. Linear regions: those of the strips, joined where pieces are joined.
   Every edge of the map between two regions crosses strips only as pieces
   of the same edge, so no other comparison of maps is needed.

If a seam does not pass the check (a unit's zero line lies on it: a vertical
line at exactly ``x = s``), the map is computed in one process instead. The
result is the single-process map: same regions, patterns, maps (up to their
certified rounding: each strip works relative to its own centre) and
linear regions; polygons are listed strip by strip, joined regions after them.

Examples
--------
>>> import numpy as np
>>> from relumap_service.core.network import Network
>>> net = Network([np.array([[1.0, 1.0], [1.0, -1.0]]), np.array([[1.0], [2.0]])],
...               [np.zeros(2), np.zeros(1)])
>>> r = regions_2d_parallel(net, ((-1, -1), (1, 1)), processes=1, strips=3)
>>> r.n_regions, sorted(r.areas.round(12).tolist())
(4, [1.0, 1.0, 1.0, 1.0])
"""

from __future__ import annotations

import math
import multiprocessing
import multiprocessing.pool
import time
from bisect import bisect_right
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from relumap_service.core.adjacency import connected_labels
from relumap_service.core.indexing import take_rows
from relumap_service.core.limits import WorkBudget
from relumap_service.core.network import Network
from relumap_service.core.region_map import Box, Certificate, Regions2D
from relumap_service.core.regions import RegionLimitExceeded, _check_box, regions_2d

__all__ = ["StripMap", "regions_2d_parallel", "strip_seams"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


class _SeamOnLine(Exception):
    """A seam lies (in part) on a line of the map: strips cannot be joined by patterns."""


class _Cancelled(Exception):
    """Another strip failed: this one stopped at its next check."""


# Set in a worker by the pool's initializer: once set, its strip stops.
_cancel: Any = None
# How long the other strips may take to stop and answer after one fails.
CANCEL_GRACE = 10.0


def _watch(cancel: Any) -> None:
    """Keep the event that stops this worker's strips (the pool's initializer)."""
    global _cancel
    _cancel = cancel


class _StripBudget(WorkBudget):
    """A strip's deadline, which also ends when another strip has failed."""

    def check(self) -> None:
        """Raise :class:`_Cancelled` once another strip has failed, else as a deadline."""
        if _cancel is not None and _cancel.is_set():
            raise _Cancelled
        super().check()


@dataclass(frozen=True, eq=False)
class StripMap:
    """The region map of one strip, as sent back by a worker (patterns packed into bits)."""

    points: FloatArray
    vertex_ids: IntArray
    offsets: IntArray
    packed_patterns: NDArray[np.uint8]
    gradients: FloatArray
    intercepts: FloatArray
    areas: FloatArray
    interior_points: FloatArray
    linear_region: IntArray
    n_linear_regions: int
    bound: int
    certificate: Certificate

    @classmethod
    def of(cls, regions: Regions2D) -> StripMap:
        """Keep what stitching needs of a strip's map."""
        return cls(
            points=regions.points,
            vertex_ids=regions.vertex_ids,
            offsets=regions.offsets,
            packed_patterns=regions.packed_patterns,
            gradients=regions.gradients,
            intercepts=regions.intercepts,
            areas=regions.areas,
            interior_points=regions.interior_points,
            linear_region=regions.linear_region,
            n_linear_regions=regions.n_linear_regions,
            bound=regions.bound,
            certificate=regions.certificate,
        )

    @property
    def n_regions(self) -> int:
        """Number of pieces."""
        return int(self.offsets.shape[0] - 1)


# Seams sit this fraction of a strip's width right of the equal-width positions:
# hand-written networks put vertical lines at round numbers (x = 0, x = 1), and a
# seam on one of them makes the map fall back to one process.
SEAM_OFFSET = 1 / (64 * math.pi)


def strip_seams(box: ArrayLike, strips: int, network: Network | None = None) -> list[float]:
    """Return the ``strips - 1`` seams cutting a box into vertical strips.

    Without a network, the strips are of about equal width: each seam lies
    ``SEAM_OFFSET`` of a strip's width right of the equal-width position,
    rounded to float64, strictly inside the box; too narrow a box gives fewer
    seams. With one, they hold about equal shares of the vertices of its
    first layer's lines inside the box (see :func:`_vertex_seams`), where a
    map's regions crowd; equal widths again if there are too few.

    Examples
    --------
    >>> [round(s, 4) for s in strip_seams(((0, 0), (3, 1)), 3)]
    [1.005, 2.005]
    """
    checked = _check_box(box)
    if network is not None:
        balanced = _vertex_seams(network, checked, strips)
        if balanced is not None:
            return balanced
    (x0, _), (x1, _) = checked
    seams: list[float] = []
    for i in range(1, strips):
        s = float(x0 + (x1 - x0) * ((i + SEAM_OFFSET) / strips))
        if x0 < s < x1 and (not seams or s > seams[-1]):
            seams.append(s)
    return seams


# First-layer lines whose meeting points place the seams: a random sample of
# this many at most (its meeting points are a sample of all of them).
SEAM_SAMPLE_LINES = 1024


def _vertex_seams(network: Network, box: Box, strips: int) -> list[float] | None:
    """Seams at the quantiles of the x-coordinates of the first layer's vertices in ``box``.

    Each seam lies halfway between the two distinct vertex abscissas around
    its quantile, so never on a vertex (nor on a vertical line, whose
    vertices all share its abscissa). None if there are fewer than ``8 *
    strips`` vertices, or not enough distinct abscissas for ``strips - 1``
    seams.
    """
    (x0, y0), (x1, y1) = box
    w, b = network.coefs[0], network.intercepts[0]
    if w.shape[1] > SEAM_SAMPLE_LINES:
        keep = np.random.default_rng(0).choice(w.shape[1], SEAM_SAMPLE_LINES, replace=False)
        w, b = w[:, keep], b[keep]
    i, j = np.triu_indices(w.shape[1], 1)
    # Lines w_0 x + w_1 y + b = 0 meet where Cramer's rule puts them (float64
    # is plenty: these only balance the work).
    det = w[0, i] * w[1, j] - w[1, i] * w[0, j]
    with np.errstate(all="ignore"):
        x = (w[1, i] * b[j] - w[1, j] * b[i]) / det
        y = (w[0, j] * b[i] - w[0, i] * b[j]) / det
    x = x[(x > x0) & (x < x1) & (y > y0) & (y < y1)]
    if x.size < 8 * strips:
        return None
    distinct = np.unique(x)
    at = np.searchsorted(distinct, np.quantile(x, np.arange(1, strips) / strips), side="right")
    at = np.unique(np.clip(at, 1, distinct.size - 1))
    if at.size < strips - 1:
        return None
    return [float(s) for s in 0.5 * (distinct[at - 1] + distinct[at])]


def _strip_map(network: Network, box: Box, max_regions: int, seconds: float | None) -> StripMap:
    """Map one strip (run in a worker process)."""
    budget = _StripBudget(seconds)
    return StripMap.of(regions_2d(network, box, max_regions, budget=budget))


def _seam_intervals(strip: StripMap, s: float, right: bool) -> tuple[IntArray, IntArray, IntArray]:
    """Seam points of a strip on ``x = s`` (by increasing y) and the piece on each interval.

    ``right`` is True for the seam on the strip's right side. Returns the
    points' ids in the strip's table, per interval between consecutive
    points the piece touching it with an edge, and the corners (positions in
    ``vertex_ids``) on the seam.
    """
    points, ids, offsets = strip.points, strip.vertex_ids, strip.offsets
    on_seam = points[:, 0] == s
    seam_ids = np.flatnonzero(on_seam)
    seam_ids = seam_ids[np.argsort(points[seam_ids, 1], kind="stable")]
    rank = np.full(points.shape[0], -1, np.int64)
    rank[seam_ids] = np.arange(seam_ids.size)
    # Only the corners on the seam, and the next corner of each, are looked at.
    on_it = np.flatnonzero(on_seam[ids])
    piece = np.searchsorted(offsets, on_it, side="right") - 1
    nxt = np.where(on_it + 1 < offsets[piece + 1], on_it + 1, offsets[piece])
    edge = on_seam[ids[nxt]]
    corner, nxt, piece = on_it[edge], nxt[edge], piece[edge]
    # Counter-clockwise rings run up the right side of a strip and down its left side.
    low, high = (ids[corner], ids[nxt]) if right else (ids[nxt], ids[corner])
    if np.any(rank[high] - rank[low] != 1):
        raise _SeamOnLine
    owner = np.full(max(seam_ids.size - 1, 0), -1, np.int64)
    if np.bincount(rank[low], minlength=owner.size).max(initial=1) != 1:
        raise _SeamOnLine
    owner[rank[low]] = piece
    if np.any(owner < 0):
        raise _SeamOnLine
    return seam_ids, owner, on_it


def _cyclic(ring: list[int], start: int, stop: int) -> list[int]:
    """Entries of ``ring`` from position ``start`` to ``stop`` inclusive, going round."""
    if start <= stop:
        return ring[start : stop + 1]
    return ring[start:] + ring[: stop + 1]


def _join(left: list[int], right: list[int], x: FloatArray, y: FloatArray, s: float) -> list[int]:
    """Join two counter-clockwise rings (point ids) that share an edge on the seam ``x = s``.

    The shared edge runs up ``left``'s boundary and down ``right``'s; the
    result keeps its ends. Rings are a few dozen points: Python lists, as
    numpy's calls on arrays this small cost more than the work.
    """
    heights = y[left].tolist()
    at = [k for k, value in enumerate(x[left].tolist()) if value == s]
    lo, hi = min(at, key=heights.__getitem__), max(at, key=heights.__getitem__)
    r_lo, r_hi = right.index(left[lo]), right.index(left[hi])
    first = _cyclic(left, hi, lo)
    n = len(right)
    if (r_lo + 1) % n == r_hi:
        return first
    return first + _cyclic(right, (r_lo + 1) % n, (r_hi - 1) % n)


def _concatenate_kept(arrays: list[NDArray[Any]], dropped: IntArray) -> NDArray[Any]:
    """``np.concatenate(arrays)`` without its rows ``dropped`` (few, increasing), in one copy.

    Rows are copied in runs between the dropped ones: gathering every row
    costs several times more for rows of patterns (hundreds of bytes each).
    """
    sizes = [a.shape[0] for a in arrays]
    out = np.empty((sum(sizes) - dropped.size, *arrays[0].shape[1:]), arrays[0].dtype)
    at = base = 0
    for array, size in zip(arrays, sizes, strict=True):
        local = (dropped[(dropped >= base) & (dropped < base + size)] - base).tolist()
        for lo, hi in zip([0, *(k + 1 for k in local)], [*local, size], strict=True):
            out[at : at + hi - lo] = array[lo:hi]
            at += hi - lo
        base += size
    return out


def stitch(
    strips: list[StripMap], box: Box, seams: list[float], hidden_layer_sizes: tuple[int, ...]
) -> Regions2D:
    """Join the maps of consecutive vertical strips of ``box`` into one map.

    Raises
    ------
    _SeamOnLine
        If a seam lies in part on a line of the map.
    """
    n_points = np.array([s.points.shape[0] for s in strips])
    n_pieces = np.array([s.n_regions for s in strips])
    point_base = np.concatenate([[0], np.cumsum(n_points)])
    piece_base = np.concatenate([[0], np.cumsum(n_pieces)])
    label_base = np.concatenate([[0], np.cumsum([s.n_linear_regions for s in strips])])
    points = np.concatenate([s.points for s in strips])
    alias = np.arange(points.shape[0])
    pair_left: list[IntArray] = []
    pair_right: list[IntArray] = []
    seam_points: list[tuple[int, IntArray, IntArray, IntArray]] = []
    for i, s in enumerate(seams):
        left, right = strips[i], strips[i + 1]
        left_ids, left_owner, left_corners = _seam_intervals(left, s, right=True)
        right_ids, right_owner, right_corners = _seam_intervals(right, s, right=False)
        if left_ids.size != right_ids.size:
            raise _SeamOnLine
        same = left.packed_patterns[left_owner] == right.packed_patterns[right_owner]
        if not np.all(same):
            raise _SeamOnLine
        alias[point_base[i + 1] + right_ids] = point_base[i] + left_ids
        pair_left.append(piece_base[i] + left_owner)
        pair_right.append(piece_base[i + 1] + right_owner)
        seam_points.append((i, left_ids, left_corners, right_corners))
    n_total = int(piece_base[-1])
    a = np.concatenate(pair_left or [np.zeros(0, np.int64)])
    b = np.concatenate(pair_right or [np.zeros(0, np.int64)])
    region = connected_labels(n_total, a, b)
    first_piece = np.full(int(region.max(initial=-1)) + 1, n_total, np.int64)
    np.minimum.at(first_piece, region, np.arange(n_total))
    joined = np.flatnonzero(np.bincount(region) > 1)
    keep = np.zeros(n_total, dtype=bool)
    keep[first_piece] = True
    merged = np.flatnonzero(~keep)  # pieces joined to a piece on their left
    # The kept pieces' rows (the patterns are most of the bytes) are copied on
    # a thread while the rings are joined: numpy copies without holding the
    # GIL, and the second core is otherwise idle while this process stitches.
    with ThreadPoolExecutor(1) as copier:
        rows = {
            name: copier.submit(_concatenate_kept, [getattr(s, name) for s in strips], merged)
            for name in ("packed_patterns", "gradients", "intercepts", "interior_points")
        }

        counts = np.concatenate([np.diff(s.offsets) for s in strips])
        ids = np.concatenate([alias[point_base[i] + s.vertex_ids] for i, s in enumerate(strips)])
        offsets = np.concatenate([[0], np.cumsum(counts)])

        # 2. Which seam points stay: count the regions whose rings hold each.
        dropped = np.zeros(points.shape[0], dtype=bool)
        for i, left_ids, left_corners, right_corners in seam_points:
            point = point_base[i] + left_ids
            rank = np.full(points.shape[0], -1, np.int64)
            rank[point] = np.arange(point.size)
            # Only the two strips beside the seam have corners on it.
            at = np.concatenate(
                [offsets[piece_base[i]] + left_corners, offsets[piece_base[i + 1]] + right_corners]
            )
            owner = np.searchsorted(offsets, at, side="right") - 1
            pairs = np.unique(np.stack([rank[ids[at]], region[owner]], axis=1), axis=0)
            meeting = np.bincount(pairs[:, 0], minlength=point.size)
            ends = np.zeros(point.size, dtype=bool)
            ends[[0, -1]] = True
            dropped[point] = np.where(ends, meeting == 1, meeting == 2)

        # 1. Rings of joined regions, left to right.
        rings: list[list[int]] = []
        members = np.argsort(region, kind="stable")
        starts = np.searchsorted(region[members], joined)
        stops = np.searchsorted(region[members], joined, side="right")
        x, y = points[:, 0], points[:, 1]
        bases = piece_base.tolist()
        for lo, hi in zip(starts.tolist(), stops.tolist(), strict=True):
            ring = ids[offsets[members[lo]] : offsets[members[lo] + 1]].tolist()
            for p in members[lo + 1 : hi].tolist():
                right = ids[offsets[p] : offsets[p + 1]].tolist()
                ring = _join(ring, right, x, y, seams[bisect_right(bases, p) - 2])
            rings.append(ring)
        kept = np.flatnonzero(keep)
        is_joined = np.zeros(n_total, dtype=bool)
        is_joined[first_piece[joined]] = True
        lengths = counts.copy()
        lengths[first_piece[joined]] = [len(r) for r in rings]
        out_offsets = np.concatenate([[0], np.cumsum(lengths[kept])])
        # The corners of the pieces as they are, in runs between the few
        # pieces dropped (merged into one on their left) or replaced by
        # their region's ring.
        ring_at = dict(zip(first_piece[joined].tolist(), rings, strict=True))
        runs, start = [], 0
        for p in np.union1d(merged, first_piece[joined]).tolist():
            runs.append(ids[offsets[start] : offsets[p]])
            if p in ring_at:
                runs.append(np.array(ring_at[p], np.int64))
            start = p + 1
        runs.append(ids[offsets[start] :])
        index = np.concatenate(runs)
        # Rings are listed in piece order; joined regions sit at their first piece.
        stay = ~dropped[index]
        sizes = (
            np.add.reduceat(stay.astype(np.int64), out_offsets[:-1]) if kept.size else lengths[:0]
        )
        index = index[stay]
        out_offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        used = np.zeros(points.shape[0], dtype=bool)
        used[index] = True
        renumber = np.cumsum(used) - 1
        table = points[used]
        vertex_ids = renumber[index]

        areas = np.bincount(region, weights=np.concatenate([s.areas for s in strips])).astype(float)
        region_of_kept = region[kept]
        interior = rows["interior_points"].result()
        if joined.size:
            at = np.flatnonzero(is_joined[kept])
            lo, hi = out_offsets[at], out_offsets[at + 1]
            member = np.repeat(np.arange(at.size), hi - lo)
            # The positions lo..hi - 1 of each ring, all at once.
            flat = np.arange(member.size) + np.repeat(
                lo - (np.cumsum(hi - lo) - (hi - lo)), hi - lo
            )
            sums = np.zeros((at.size, 2))
            np.add.at(sums, member, table[vertex_ids[flat]])
            interior[at] = sums / (hi - lo)[:, None]

        labels = np.concatenate([s.linear_region + label_base[i] for i, s in enumerate(strips)])
        component = connected_labels(int(label_base[-1]), labels[a], labels[b])
        # Numbered in order of first region, as each strip's are: a component's
        # first piece holds its smallest label, and is kept (a piece is dropped
        # only when joined to one on its left, in the same component).
        linear = component[labels[kept]]

        certificates = [s.certificate for s in strips]
        return Regions2D(
            box=box,
            vertices=take_rows(table, vertex_ids),
            offsets=out_offsets,
            points=table,
            vertex_ids=vertex_ids,
            packed_patterns=rows["packed_patterns"].result(),
            n_hidden=int(sum(hidden_layer_sizes)),
            gradients=rows["gradients"].result(),
            intercepts=rows["intercepts"].result(),
            areas=areas[region_of_kept],
            interior_points=interior,
            linear_region=linear,
            n_linear_regions=int(linear.max(initial=-1)) + 1,
            bound=strips[0].bound,
            hidden_layer_sizes=hidden_layer_sizes,
            certificate=Certificate(
                exact=all(c.exact for c in certificates),
                float_decisions=sum(c.float_decisions for c in certificates),
                exact_decisions=sum(c.exact_decisions for c in certificates),
                exact_vertices=sum(c.exact_vertices for c in certificates),
                max_vertex_error=max(c.max_vertex_error for c in certificates),
            ),
        )


def _strip_boxes(box: Box, seams: list[float]) -> list[Box]:
    (x0, y0), (x1, y1) = box
    xs = [x0, *seams, x1]
    return [((xs[i], y0), (xs[i + 1], y1)) for i in range(len(xs) - 1)]


def _seconds_left(budget: WorkBudget | None) -> float | None:
    if budget is None or budget.deadline is None:
        return None
    return max(0.0, budget.deadline - time.monotonic())


class _StripPool(multiprocessing.pool.Pool):
    """A process pool whose worker handler does not wake up for results.

    CPython's waits on the results pipe beside the workers' sentinels, so it
    spins while a result is in the pipe, and starves the thread reading it of
    the GIL: two strips of a million-region map took 40 s of this process's
    CPU to arrive (``Pool._get_sentinels``). Workers' exits still wake it.
    """

    def _get_sentinels(self) -> list[Any]:
        return [self._change_notifier._reader]  # type: ignore[attr-defined]


def _map_strips(
    network: Network, boxes: list[Box], max_regions: int, budget: WorkBudget | None, processes: int
) -> list[StripMap]:
    """Map every strip, in ``processes`` worker processes (in this one if 1)."""
    if processes == 1:
        return [StripMap.of(regions_2d(network, b, max_regions, budget=budget)) for b in boxes]
    # Workers are forked from a server process, not from this one: a web process
    # runs threads, and forking them is unsafe. The service has the server
    # import this module once (relumap_service.fit_process).
    context = multiprocessing.get_context("forkserver")
    seconds = _seconds_left(budget)
    # The pool is this call's: leaving the block ends its processes, also on an
    # error or a deadline in another strip.
    # Widest strips first: the seams share out the first layer's vertices, and
    # the deeper layers' regions spread over the area, so a wider strip holds
    # more of them; a worker done early then takes a narrower one (on
    # 2-800-800-1 the outer strips hold 340k and 344k regions, the inner 291k
    # and 272k: in order, one worker mapped 684k and the other 563k).
    widths = [b[1][0] - b[0][0] for b in boxes]
    order = sorted(range(len(boxes)), key=lambda i: -widths[i])
    cancel = context.Event()
    n_workers = min(processes, len(boxes))
    with _StripPool(n_workers, initializer=_watch, initargs=(cancel,), context=context) as pool:
        pending = {
            i: pool.apply_async(_strip_map, (network, boxes[i], max_regions, seconds))
            for i in order
        }
        try:
            maps = [pending[i].get() for i in range(len(boxes))]
        except BaseException:
            # The other strips stop at their next check and answer; the
            # workers then leave as after a success. Killing a worker while
            # it sends an answer would keep the results queue's lock held
            # forever, and the pool's terminate waits on it (CPython
            # gh-96995): the pool is only terminated if a strip does not stop.
            cancel.set()
            stop = time.monotonic() + CANCEL_GRACE
            for result in pending.values():
                result.wait(max(0.0, stop - time.monotonic()))
            raise
        finally:
            if all(result.ready() for result in pending.values()):
                pool.close()
                pool.join()
    return maps


def regions_2d_parallel(
    network: Network,
    box: ArrayLike,
    max_regions: int = 200_000,
    *,
    budget: WorkBudget | None = None,
    processes: int = 2,
    strips: int | None = None,
    seams: list[float] | None = None,
) -> Regions2D:
    """Compute the exact activation regions of a two-input network, strip by strip.

    The same map as :func:`relumap_service.core.regions.regions_2d`, computed
    in vertical strips by ``processes`` worker processes and stitched (see
    the module's description).

    Parameters
    ----------
    network : Network
        A network with ``n_inputs == 2``.
    box : array-like of shape (2, 2)
        ``((x_min, y_min), (x_max, y_max))``.
    max_regions : int, default=200_000
        Largest number of regions of the map, and of each strip's pieces.
    budget : WorkBudget, optional
        A deadline; the workers are given what is left of it.
    processes : int, default=2
        Worker processes; 1 maps the strips one after the other in this process.
    strips : int, optional
        Number of strips, holding about equal shares of the first layer's
        vertices (default: ``2 * processes``, so that a worker done early
        takes another strip; see :func:`strip_seams`).
    seams : list of float, optional
        The strips' borders ``x = s``, increasing, strictly inside the box
        (instead of ``strips``).

    Returns
    -------
    Regions2D
        Its certificate sums the strips' decisions (stitching decides nothing
        numerically).

    Raises
    ------
    ValueError
        If the network does not have two inputs, the box is empty or the seams are not inside it.
    RegionLimitExceeded
        If more than ``max_regions`` regions would be needed.
    DeadlineExceeded
        If ``budget``'s deadline passes.

    Examples
    --------
    >>> import numpy as np
    >>> from relumap_service.core.network import Network
    >>> k = np.arange(8)
    >>> net = Network([np.stack([np.cos(np.pi * k / 8), np.sin(np.pi * k / 8)]),
    ...                np.ones((8, 1))], [-np.ones(8), np.zeros(1)])
    >>> regions_2d_parallel(net, ((-6, -6), (6, 6)), processes=1, seams=[-1.5, 0.25]).n_regions
    37
    """
    if network.n_inputs != 2:
        return regions_2d(network, box, max_regions, budget=budget)
    checked = _check_box(box)
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    if max_regions < 1:
        raise ValueError(f"max_regions must be at least 1, got {max_regions}")
    (x0, _), (x1, _) = checked
    if seams is None:
        seams = strip_seams(checked, strips or 2 * processes, network)
    else:
        seams = [float(s) for s in seams]
        if any(not x0 < s < x1 for s in seams) or any(np.diff(seams) <= 0):
            raise ValueError(f"seams {seams} must increase strictly inside ({x0}, {x1})")
    if not seams:
        return regions_2d(network, checked, max_regions, budget=budget)
    maps = _map_strips(network, _strip_boxes(checked, seams), max_regions, budget, processes)
    if budget is not None:
        budget.check()
    try:
        regions = stitch(maps, checked, seams, network.hidden_layer_sizes)
    except _SeamOnLine:
        del maps
        return regions_2d(network, checked, max_regions, budget=budget)
    if regions.n_regions > max_regions:
        raise RegionLimitExceeded(regions.n_regions, max_regions, len(network.hidden_layer_sizes))
    return regions
