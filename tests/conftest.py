"""Shared pytest fixtures: the shared data directory and the reference-model harness."""

from __future__ import annotations

from pathlib import Path

import pytest

from dro_opt.conic import ConicProblem
from dro_opt.instances.reference_models import REFERENCE_MODELS, ReferenceModel

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """``../shared/data`` next to the repository (HM14 instances, reference optima); never copied
    into the repository. Tests that need it fail clearly when it is missing."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data directory {SHARED_DATA} is missing")
    return SHARED_DATA


def reference_model(name: str) -> tuple[ReferenceModel, ConicProblem]:
    """The reference entry ``name`` and a freshly built problem."""
    ref = REFERENCE_MODELS[name]
    return ref, ref.build()
