"""TI-1 matrix rows for the backend, one module per area.

Each module here defines ``ROWS`` (url name -> (method, path template, data, expected status),
where ``{name}`` placeholders are company A's ids) and ``seed(company, shop) -> dict`` that
creates the company-A objects its rows point at and returns their ids. The test in
``tests/backend/test_cross_tenant_backend.py`` collects every module, so a new area adds a
module instead of editing a shared table.
"""

from __future__ import annotations

import importlib
import pkgutil


def area_modules():
    package = importlib.import_module(__name__)
    return [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name)
    ]
