"""scikit-learn's own estimator checks, run against the live service (slow: about 2 min).

Each check fits on the service (the estimators find it through ``RELUMAP_URL``,
since the checks build their own copies of the estimators).
"""

from __future__ import annotations

from typing import Any

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from relumap.sklearn import RemoteMLPClassifier, RemoteMLPRegressor

SMALL = {"solver": "lbfgs", "max_iter": 500, "random_state": 0}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([RemoteMLPRegressor((4,), **SMALL), RemoteMLPClassifier((4,), **SMALL)])
def test_scikit_learn_estimator_checks(
    estimator: Any, check: Any, live_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELUMAP_URL", live_url)
    check(estimator)
