"""Error metrics of a fit, train and held-out, beside the best linear model on the same split."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from relumap._optional import require
from relumap._tables import score_text

__all__ = ["Metrics"]

# The metrics a table shows, in this order, per task.
SCALARS = {
    "regression": ("r2", "mse", "rmse", "mae", "max_error"),
    "classification": ("accuracy", "f1", "log_loss", "roc_auc"),
}


@dataclass(frozen=True)
class Metrics:
    """Train and test metrics of a network and of its linear baseline.

    Attributes
    ----------
    task : {"regression", "classification"}
    train, test : dict
        The network's metrics; ``test`` is empty when nothing was held out.
        Regression: ``mse``, ``rmse``, ``mae``, ``r2``, ``max_error``;
        classification: ``accuracy``, ``log_loss``, ``f1``,
        ``confusion_matrix`` and, for two classes, ``roc_auc``.
    baseline_model : str
        ``LinearRegression`` or ``LogisticRegression``.
    baseline_train, baseline_test : dict
        The same metrics for the baseline.
    """

    task: str
    train: dict[str, Any] = field(default_factory=dict)
    test: dict[str, Any] = field(default_factory=dict)
    baseline_model: str = ""
    baseline_train: dict[str, Any] = field(default_factory=dict)
    baseline_test: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        network = score_text(self.task, self.train, self.test) or "no scores"
        baseline = score_text(self.task, self.baseline_train, self.baseline_test)
        text = f"<Metrics {self.task}: network {network}"
        if baseline is not None:
            text += f"; {self.baseline_model or 'baseline'} {baseline}"
        return text + ">"

    @classmethod
    def from_model(cls, document: dict[str, Any]) -> Metrics | None:
        """Build from a model document; None until the fit has succeeded."""
        metrics, baseline = document.get("metrics"), document.get("baseline") or {}
        if not metrics:
            return None
        return cls(
            task=str(document.get("task")),
            train=dict(metrics.get("train") or {}),
            test=dict(metrics.get("test") or {}),
            baseline_model=str(baseline.get("model", "")),
            baseline_train=dict(baseline.get("train") or {}),
            baseline_test=dict(baseline.get("test") or {}),
        )

    @property
    def names(self) -> tuple[str, ...]:
        """The scalar metrics of this task, in display order."""
        every = {**self.train, **self.test}
        return tuple(name for name in SCALARS.get(self.task, ()) if name in every)

    def rows(self) -> list[dict[str, Any]]:
        """Return one row per (model, split): ``model``, ``split`` and each scalar metric."""
        rows = []
        for model, split, values in (
            ("network", "train", self.train),
            ("network", "test", self.test),
            (self.baseline_model or "baseline", "train", self.baseline_train),
            (self.baseline_model or "baseline", "test", self.baseline_test),
        ):
            if values:
                rows.append(
                    {"model": model, "split": split, **{n: values.get(n) for n in self.names}}
                )
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"metrics": {"train", "test"}, "baseline": {"model", "train", "test"}}``."""
        return {
            "metrics": {"train": self.train, "test": self.test},
            "baseline": {
                "model": self.baseline_model,
                "train": self.baseline_train,
                "test": self.baseline_test,
            },
        }

    def to_frame(self) -> Any:
        """Return :meth:`rows` as a DataFrame indexed by ``model`` and ``split``."""
        pandas = require("pandas", "Metrics.to_frame()")
        return pandas.DataFrame(self.rows()).set_index(["model", "split"])
