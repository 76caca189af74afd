"""Training snapshots: which iterations to keep, and their weights as compact bytes.

A fit records the network at ``n_snapshots`` iterations of one training run,
spread geometrically from the first iteration to the last
(:func:`snapshot_iterations`), since a network changes most early on. The
number of iterations is known only at the end, so an :class:`IterateRecorder`
holds a bounded number of iterates meanwhile and picks at the end.

A snapshot is stored as its weights only: every weight matrix, then every
intercept vector, in scikit-learn's layout, as little-endian float64
(:func:`pack_weights`); the model's own network gives the shapes back
(:func:`unpack_weights`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from relumap_service.core.network import Network

__all__ = [
    "IterateRecorder",
    "pack_weights",
    "snapshot_iterations",
    "unpack_weights",
]

FloatArray = NDArray[np.float64]
Weights = tuple[list[FloatArray], list[FloatArray]]

# Bytes of iterates a recorder keeps before it thins them (beyond 2 x n_snapshots).
RECORDER_BYTES = 64 * 1024 * 1024


def pack_weights(coefs: list[FloatArray], intercepts: list[FloatArray]) -> bytes:
    """Return the weights as little-endian float64 bytes: coefs, then intercepts."""
    parts = [np.asarray(a, dtype="<f8").ravel() for a in (*coefs, *intercepts)]
    return np.concatenate(parts).tobytes()


def unpack_weights(blob: bytes, like: Network) -> Network:
    """Return the network of ``like``'s shapes and activations with the weights in ``blob``.

    Raises
    ------
    ValueError
        If ``blob`` does not hold exactly as many numbers as ``like`` has weights.
    """
    values = np.frombuffer(blob, dtype="<f8").astype(np.float64)
    shapes = [w.shape for w in like.coefs] + [b.shape for b in like.intercepts]
    sizes = [int(np.prod(shape)) for shape in shapes]
    if values.size != sum(sizes):
        raise ValueError(f"the snapshot holds {values.size} numbers; the network has {sum(sizes)}")
    arrays = [
        part.reshape(shape)
        for part, shape in zip(np.split(values, np.cumsum(sizes)[:-1]), shapes, strict=True)
    ]
    n = len(like.coefs)
    return Network(
        arrays[:n],
        arrays[n:],
        hidden_activation=like.hidden_activation,
        output_activation=like.output_activation,
        negative_slope=like.negative_slope,
    )


def snapshot_iterations(n_last: int, n_snapshots: int) -> list[int]:
    """Return ``n_snapshots`` distinct iterations from 1 to ``n_last``, spread geometrically.

    The j-th is ``round(n_last ** (j / (n_snapshots - 1)))``, moved up to keep
    the iterations distinct and down to leave room for those after it, so that
    early training, where a network changes most, gets most snapshots.

    Parameters
    ----------
    n_last : int
        The last iteration (>= 0).
    n_snapshots : int
        How many to pick (>= 0); all iterations when there are fewer.

    Returns
    -------
    list of int
        Increasing; the last is ``n_last`` when ``n_snapshots > 0``.

    Examples
    --------
    >>> snapshot_iterations(1000, 4)
    [1, 10, 100, 1000]
    >>> snapshot_iterations(3, 5)
    [1, 2, 3]
    """
    if n_snapshots <= 0:
        return []
    if n_last <= 0:
        return [n_last]
    if n_last <= n_snapshots:
        return list(range(1, n_last + 1))
    if n_snapshots == 1:
        return [n_last]
    ideal = np.geomspace(1.0, float(n_last), n_snapshots)
    chosen: list[int] = []
    for j, value in enumerate(ideal):
        low = chosen[-1] + 1 if chosen else 1
        high = n_last - (n_snapshots - 1 - j)
        chosen.append(int(min(max(round(float(value)), low), high)))
    return chosen


def _nearest(kept: list[int], targets: list[int]) -> list[int]:
    """Return, for each target, the nearest kept iteration (distinct, increasing)."""
    array = np.asarray(kept)
    found = {int(array[np.argmin(np.abs(array - t))]) for t in targets}
    return sorted(found)


@dataclass
class IterateRecorder:
    """Keep the iterates of one training run, a bounded number of them.

    Every iterate is kept until ``capacity`` are held; then they are thinned
    to those nearest a geometric grid of ``capacity // 2`` iterations up to
    the latest, so that the final choice is exact when training ran at most
    ``capacity`` iterations and the nearest kept iteration otherwise.

    Parameters
    ----------
    n_snapshots : int
        How many snapshots will be picked at the end.
    capacity : int
        Iterates held at most (at least ``2 * n_snapshots``).
    """

    n_snapshots: int
    capacity: int
    iterates: dict[int, tuple[Weights, float | None]] = field(default_factory=dict)
    losses: list[float] = field(default_factory=list)

    @classmethod
    def for_network(cls, n_snapshots: int, n_weights: int) -> IterateRecorder:
        """Size a recorder by :data:`RECORDER_BYTES` for a network of ``n_weights`` numbers."""
        by_bytes = RECORDER_BYTES // max(8 * n_weights, 1)
        capacity = max(2 * n_snapshots, min(8 * n_snapshots, by_bytes), 2)
        return cls(n_snapshots, capacity)

    def record(
        self,
        iteration: int,
        coefs: list[FloatArray],
        intercepts: list[FloatArray],
        loss: float | None = None,
    ) -> None:
        """Copy the weights after ``iteration`` (1-based), with the solver's loss if known."""
        if loss is not None:
            self.losses.append(float(loss))
        if self.n_snapshots <= 0:
            return
        weights = ([np.array(w) for w in coefs], [np.array(b) for b in intercepts])
        self.iterates[iteration] = (weights, loss)
        if len(self.iterates) > self.capacity:
            grid = snapshot_iterations(iteration, max(self.capacity // 2, 2))
            keep = set(_nearest(sorted(self.iterates), grid)) | {iteration}
            self.iterates = {k: v for k, v in self.iterates.items() if k in keep}

    def truncate(self, last: int) -> None:
        """Forget the iterates after ``last`` (early stopping restored an earlier epoch)."""
        self.iterates = {k: v for k, v in self.iterates.items() if k <= last}

    def select(
        self, n_last: int, final: Weights, final_loss: float | None
    ) -> list[tuple[int, Weights, float | None]]:
        """Pick the snapshots: the kept iterates nearest the geometric grid, then ``final``.

        The last snapshot is always ``final`` (the stored model) at ``n_last``.
        """
        if self.n_snapshots <= 0:
            return []
        earlier = [k for k in sorted(self.iterates) if k < n_last]
        grid = snapshot_iterations(n_last, self.n_snapshots)[:-1]
        chosen = _nearest(earlier, grid) if earlier and grid else []
        picked = [(k, *self.iterates[k]) for k in chosen]
        return [*picked, (n_last, final, final_loss)]
