"""Every package of the source tree is in pyproject's explicit ``packages`` list.

``models/`` and ``instances/`` install as ``dro_opt.models`` / ``dro_opt.instances`` through
``package-dir``, so setuptools cannot discover them: a subpackage missing from the list works in
an editable install (what the tests use) and is silently absent from a wheel.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _source_packages() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = set()
    for name, directory in config["package-dir"].items():
        base = ROOT / directory
        for init in base.rglob("__init__.py"):
            relative = init.parent.relative_to(base)
            found.add(".".join((name, *relative.parts)) if relative.parts else name)
    return found


def test_every_source_package_is_listed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    missing = sorted(_source_packages() - set(config["packages"]))
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"
