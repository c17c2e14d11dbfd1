"""Execute every notebook in ``notebooks/`` top to bottom (nbclient), as CI does.

Each notebook states what its printed output must contain in its own metadata,
``{"dro_opt": {"expect": ["...", ...]}}`` (besides the ``all checks passed`` line its last cell
prints after its assertions), so adding a notebook needs no edit here; a notebook without that
metadata fails.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize("name", sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_executes(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    expected = nb.metadata.get("dro_opt", {}).get("expect")
    assert expected, f'{name}: add metadata {{"dro_opt": {{"expect": [...]}}}} (printed markers)'
    client = NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    client.execute()  # raises CellExecutionError on any failing cell
    text = "\n".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.get("output_type") == "stream"
    )
    assert "all checks passed" in text
    missing = [marker for marker in expected if marker not in text]
    assert not missing, f"{name}: printed output lacks {missing}"
