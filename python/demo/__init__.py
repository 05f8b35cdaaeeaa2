"""The authgate demo: a small home-automation app (run with ``make demo`` or ``python -m demo``)."""
from .homeauto import create_app

__all__ = ["create_app"]
