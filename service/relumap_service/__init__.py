"""relumap service: fit small MLPs and report their exact piecewise-linear structure."""

__version__ = "0.1.0"
