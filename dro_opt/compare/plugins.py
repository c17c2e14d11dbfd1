"""Extra backends for comparison runs (test doubles, site-specific solvers).

``DRO_OPT_COMPARE_PLUGINS`` lists modules or ``.py`` files (separated by ``os.pathsep``) that
register backends with :func:`dro_opt.solvers.registry.register_backend` when imported. The
parent and every worker process import them, so a plugin solver name is accepted on the command
line and available inside the isolated run.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

PLUGINS_ENV = "DRO_OPT_COMPARE_PLUGINS"
PARENT_ENV = "DRO_OPT_COMPARE_PARENT"


def load_plugins(plugins: list[str] | None) -> None:
    """Import each plugin: a module name or a path to a ``.py`` file (imported once)."""
    for spec in plugins or []:
        if spec.endswith(".py"):
            name = "dro_opt_compare_plugin_" + Path(spec).stem
            if name in sys.modules:
                continue
            loader = importlib.util.spec_from_file_location(name, spec)
            if loader is None or loader.loader is None:
                raise ImportError(f"cannot import compare plugin {spec!r}")
            module = importlib.util.module_from_spec(loader)
            sys.modules[name] = module
            loader.loader.exec_module(module)
        else:
            importlib.import_module(spec)


def plugins_from_env() -> list[str]:
    """The plugins named in ``DRO_OPT_COMPARE_PLUGINS``."""
    return [p for p in os.environ.get(PLUGINS_ENV, "").split(os.pathsep) if p]
