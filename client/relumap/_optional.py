"""Optional dependencies, imported on first use with an error that names the extra.

The base install is ``requests`` and ``numpy`` only; plotting, the
scikit-learn estimators, data frames and progress bars each come with an
extra (``pip install 'relumap[plot]'``), so importing :mod:`relumap` never
pulls them in.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["EXTRAS", "require"]

# Top-level module -> the extra that installs it.
EXTRAS = {
    "matplotlib": "plot",
    "sklearn": "sklearn",
    "pandas": "pandas",
    "tqdm": "progress",
}


def require(module: str, what: str) -> Any:
    """Import an optional module, or raise an ImportError naming the extra to install.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"matplotlib.pyplot"``.
    what : str
        What needs it, for the message (e.g. ``"Knots.plot()"``).

    Returns
    -------
    module
        The imported module.

    Raises
    ------
    ImportError
        If the module is not installed; the message says which extra installs it.
    """
    root = module.split(".")[0]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = EXTRAS.get(root, root)
        raise ImportError(
            f"{what} needs {root}, which is not installed; "
            f"install it with: pip install 'relumap[{extra}]'"
        ) from exc


def available(module: str) -> bool:
    """Whether an optional module can be imported."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True
