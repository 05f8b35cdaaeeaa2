"""Optional dependencies: an import that names the extra to install when one is missing."""
from __future__ import annotations

import importlib


def require(module: str, extra: str, needed_by: str) -> None:
    """Imports ``module``; when it is not installed, raises ModuleNotFoundError saying which
    ``authgate[extra]`` brings it, instead of a bare "No module named ..."."""
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            f"{needed_by} needs {module} (no module named {exc.name!r}): pip install 'authgate[{extra}]'",
            name=exc.name,
        ) from exc
