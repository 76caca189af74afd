"""The client's version, kept apart so every module can read it without cycles."""

__version__ = "0.1.0"
