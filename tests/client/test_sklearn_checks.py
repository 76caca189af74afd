"""scikit-learn's own estimator checks, run against the live service.

Each check fits on the service (the estimators find it through ``RELUMAP_URL``,
since the checks build their own copies of the estimators). ``make test`` runs
a sample of the checks that matter most for an estimator that fits remotely
(``SAMPLE``, one fit in all); the rest are marked slow (all of them take
about 2 minutes) and run in ``make test-all``.
"""

from __future__ import annotations

from typing import Any

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from relumap.sklearn import RemoteMLPClassifier, RemoteMLPRegressor

SMALL = {"solver": "lbfgs", "max_iter": 500, "random_state": 0}

# Where a remote estimator goes wrong and a local one cannot, for one fit in
# all (a fit costs 1 to 5 s on a loaded machine, so the rest wait for
# test-all): its fitted state must survive pickling without a connection; bad
# data must be refused as scikit-learn refuses it (one sample, a continuous
# target given to the classifier); an unfitted estimator must refuse before
# asking the service. NaN and inf are refused by the API's own tests.
# Pairs of (estimator, check as scikit-learn names it in the test id).
SAMPLE = {
    ("RemoteMLPRegressor", "check_estimators_pickle"),
    ("RemoteMLPClassifier", "check_classifiers_regression_target"),
    ("RemoteMLPRegressor", "check_fit2d_1sample"),
    ("RemoteMLPClassifier", "check_fit2d_1sample"),
    ("RemoteMLPRegressor", "check_estimators_unfitted"),
    ("RemoteMLPClassifier", "check_estimators_unfitted"),
}


def sampled(checks: pytest.MarkDecorator) -> pytest.MarkDecorator:
    """The same parametrization, the checks outside ``SAMPLE`` marked slow."""
    argnames, cases = checks.mark.args
    name = checks.mark.kwargs["ids"]  # scikit-learn's names for the test ids
    params = [
        pytest.param(
            estimator,
            check,
            marks=() if (type(estimator).__name__, name(check)) in SAMPLE else (pytest.mark.slow,),
        )
        for estimator, check in cases
    ]
    return pytest.mark.parametrize(argnames, params, **checks.mark.kwargs)


ALL_CHECKS = parametrize_with_checks(
    [RemoteMLPRegressor((4,), **SMALL), RemoteMLPClassifier((4,), **SMALL)]
)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@sampled(ALL_CHECKS)
def test_scikit_learn_estimator_checks(
    estimator: Any, check: Any, live_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELUMAP_URL", live_url)
    check(estimator)


def test_the_sample_names_checks_scikit_learn_runs() -> None:
    # A renamed or dropped check would silently leave the sample smaller.
    name = ALL_CHECKS.mark.kwargs["ids"]
    pairs = {(type(e).__name__, name(check)) for e, check in ALL_CHECKS.mark.args[1]}
    assert pairs >= SAMPLE, sorted(SAMPLE - pairs)
    assert len(pairs) > 10 * len(SAMPLE)
