"""Execute notebooks/dro_modelling_examples.ipynb top to bottom (nbclient), as
tests/test_notebooks.py does for the other notebooks."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_dro_modelling_examples_notebook_executes() -> None:
    nb = nbformat.read(NOTEBOOKS / "dro_modelling_examples.ipynb", as_version=4)
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
    assert "certified:" in text and "optimal" in text
