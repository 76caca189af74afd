"""A first fit in the fit process server, so that each fit process forked from it starts warm.

Only the forkserver of ``relumap_service.fit_process`` imports this module (it
is in the server's preload list). Importing it fits two tiny networks, a
regressor and a classifier: what the first fit of a process sets up (numpy's
and scikit-learn's caches, dispatch tables, configuration) is then inherited,
set up, by every fit process forked from the server, instead of being set up
again by each of them. It costs the server a fraction of a second, once.
"""

from __future__ import annotations

from relumap_service.fit_process import run_fit


def warm_up() -> None:
    """Fit a tiny regressor and a tiny classifier; a failure only leaves the server cold."""
    X = [[x / 10.0, (x * 7 % 10) / 10.0] for x in range(20)]
    for task, y, classes in (
        ("regression", [row[0] - row[1] for row in X], None),
        ("classification", [int(row[0] > row[1]) for row in X], [0, 1]),
    ):
        payload = {
            "X": X,
            "y": y,
            "params": {"hidden_layer_sizes": [4], "max_iter": 20},
            "task": task,
            "classes": classes,
        }
        try:
            run_fit(payload)
        except Exception:  # a cold fit process is slower, not wrong
            return


warm_up()
