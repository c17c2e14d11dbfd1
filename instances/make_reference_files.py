"""Write the shipped example model files ``instances/models/<name>.{mps,lp,cbf}``.

One file per reference model (:mod:`dro_opt.instances.reference_models`, optima known in closed
form) and per format that can hold it: exponential-cone models only as ``.cbf``. The files are
committed and installed as package data (``dro_opt.instances/models``); tests/test_io.py checks
they match what this script writes, so re-run it after changing a writer::

    python instances/make_reference_files.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dro_opt.instances.reference_models import REFERENCE_MODELS
from dro_opt.io.formats import FORMATS, can_hold, write_model


def write_reference_files(out: Path) -> list[Path]:
    """Write every (reference model, format) pair the format can hold into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, ref in REFERENCE_MODELS.items():
        problem = ref.build()
        for suffix in FORMATS:
            if can_hold(problem, suffix):
                written.append(write_model(problem, out / f"{name}{suffix}"))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "models")
    args = parser.parse_args()
    for path in write_reference_files(args.out):
        print(path)


if __name__ == "__main__":
    main()
