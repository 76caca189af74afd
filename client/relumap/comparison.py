"""A ReLU and an identity network fitted with the same settings, side by side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from relumap._optional import require

if TYPE_CHECKING:
    from relumap.models import Model

__all__ = ["Comparison"]


@dataclass(frozen=True)
class Comparison:
    """The answer to "why is a network of ReLUs not linear?" on one data set.

    Attributes
    ----------
    relu, identity : Model
        The two fits, identical but for the hidden activation. The identity
        network collapses to one affine map (``identity.equivalent_linear_map``)
        and scores like the linear baseline; the ReLU network is piecewise linear.
    """

    relu: Model
    identity: Model

    def __repr__(self) -> str:
        return f"<Comparison relu {self.relu.id}, identity {self.identity.id}>"

    def rows(self) -> list[dict[str, Any]]:
        """One row per (metric, split): the ReLU network, the identity network, the baseline."""
        relu, identity = self.relu.metrics, self.identity.metrics
        if relu is None or identity is None:
            return []
        rows = []
        for split in ("train", "test"):
            ours, theirs = getattr(relu, split), getattr(identity, split)
            base = getattr(relu, f"baseline_{split}")
            for name in relu.names:
                if name in ours:
                    rows.append(
                        {
                            "metric": name,
                            "split": split,
                            "relu": ours.get(name),
                            "identity": theirs.get(name),
                            relu.baseline_model or "baseline": base.get(name),
                        }
                    )
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Return both model documents and the metric rows."""
        return {
            "relu": self.relu.to_dict(),
            "identity": self.identity.to_dict(),
            "metrics": self.rows(),
        }

    def to_frame(self) -> Any:
        """Return :meth:`rows` as a DataFrame indexed by ``metric`` and ``split``."""
        pandas = require("pandas", "Comparison.to_frame()")
        return pandas.DataFrame(self.rows()).set_index(["metric", "split"])

    def plot(self, axes: Any = None) -> Any:
        """Draw the two models side by side; return the two axes.

        Parameters
        ----------
        axes : sequence of two matplotlib Axes, optional
            A new figure by default.
        """
        from relumap import plotting

        return plotting.plot_comparison(self, axes=axes)
