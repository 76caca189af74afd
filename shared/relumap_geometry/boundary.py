"""The exact decision boundary of a two-input classifier, as line segments.

The service computes it (:func:`relumap_service.core.boundary.decision_boundary`);
the client reads it back from the ``decision_boundary`` of a regions document.

Examples
--------
>>> import numpy as np
>>> db = DecisionBoundary(np.array([[[0.0, 0.0], [3.0, 4.0]]]), np.array([0]),
...                       np.array([[0, 1]]))
>>> db
<DecisionBoundary: 1 segment, length 5>
>>> DecisionBoundary.from_dict(db.to_dict()).length
5.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray

from relumap_geometry.text import count

__all__ = ["DecisionBoundary"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class DecisionBoundary:
    """Line segments where the predicted class changes.

    Attributes
    ----------
    segments : ndarray of shape (n_segments, 2, 2)
        Start and end point of each segment.
    region : ndarray of int of shape (n_segments,)
        Activation region holding each segment (for a segment along a region's
        edge, the region on the ``classes[:, 0]`` side).
    classes : ndarray of int of shape (n_segments, 2)
        Class index on the left and on the right of the directed segment (for
        a binary classifier class 1 is where the logit is positive).
    """

    segments: FloatArray
    region: IntArray
    classes: IntArray

    def __repr__(self) -> str:
        return f"<DecisionBoundary: {count(self.n_segments, 'segment')}, length {self.length:.4g}>"

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Self:
        """Build from the ``decision_boundary`` of a regions document."""
        return cls(
            np.asarray(document["segments"], dtype=np.float64).reshape(-1, 2, 2),
            np.asarray(document["region"], dtype=np.int64).reshape(-1),
            np.asarray(document["classes"], dtype=np.int64).reshape(-1, 2),
        )

    @property
    def n_segments(self) -> int:
        """Number of segments."""
        return int(self.segments.shape[0])

    @property
    def length(self) -> float:
        """Total length of the boundary inside the box."""
        d = self.segments[:, 1] - self.segments[:, 0]
        return float(np.hypot(d[:, 0], d[:, 1]).sum())

    def to_dict(self) -> dict[str, Any]:
        """Return the ``decision_boundary`` document.

        Keys: ``n_segments``, ``segments``, ``region``, ``classes``.
        """
        return {
            "n_segments": self.n_segments,
            "segments": self.segments.tolist(),
            "region": self.region.tolist(),
            "classes": self.classes.tolist(),
        }

    def to_geojson(self) -> dict[str, Any]:
        """Return a GeoJSON ``FeatureCollection`` with one ``LineString`` per segment."""
        features = [
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": seg},
                "properties": {"region": r, "classes": c},
            }
            for seg, r, c in zip(
                self.segments.tolist(), self.region.tolist(), self.classes.tolist(), strict=True
            )
        ]
        return {"type": "FeatureCollection", "features": features}
