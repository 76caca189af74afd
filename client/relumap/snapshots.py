"""Training snapshots: the network at chosen iterations of its fit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Snapshot"]


@dataclass(frozen=True)
class Snapshot:
    """One entry of :meth:`relumap.Model.snapshots`.

    Attributes
    ----------
    index : int
        Pass it as ``snapshot=`` to :meth:`~relumap.Model.knots`,
        :meth:`~relumap.Model.regions` or :meth:`~relumap.Model.weights`.
    iteration : int
        The solver's iteration (lbfgs) or epoch (adam, sgd).
    loss : float or None
        The training objective at these weights (standardized units).
    n_pieces : int or None
        One-input models: pieces on the default domain.
    n_regions : int or None
        Two-input models: activation regions in the default box.
    """

    index: int
    iteration: int
    loss: float | None
    n_pieces: int | None = None
    n_regions: int | None = None

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Snapshot:
        """Build from an entry of ``GET /v1/models/{id}/snapshots``."""
        loss = document.get("loss")
        return cls(
            index=int(document["index"]),
            iteration=int(document["iteration"]),
            loss=None if loss is None else float(loss),
            n_pieces=document.get("n_pieces"),
            n_regions=document.get("n_regions"),
        )
