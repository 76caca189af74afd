"""Make the geometry oracles importable from the core tests (pytest runs with importlib)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
