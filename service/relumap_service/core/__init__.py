"""Pure-numpy core: networks, geometry, fitting, metrics and datasets.

Nothing in this package imports flask, marshmallow or SQLAlchemy, so it can be
used on its own.
"""
