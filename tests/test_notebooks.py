"""Execute the notebooks top to bottom (nbclient), as CI does."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


#: notebook -> strings its printed output must contain besides "all checks passed"
EXPECTED = {
    "table3_out_of_sample.ipynb": ("budget m = 10", "optimal"),
    "dro_modelling_examples.ipynb": ("certified:", "optimal"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_executes(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
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
    assert all(marker in text for marker in EXPECTED[name])
