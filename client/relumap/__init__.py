"""Python client for the relumap service."""

__version__ = "0.1.0"

__all__ = ["__version__"]
