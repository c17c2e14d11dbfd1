"""``dro-opt generate ssg`` / ``dro-opt solve ssg``: the JSON contract and bad input (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dro_opt.cli import main
from dro_opt.models.security_game import evaluate, read_instance

CONTRACT = {
    "status", "objective", "bound", "gap", "coverage", "certificate", "solver", "method",
    "build_seconds", "solve_seconds",
}  # fmt: skip


@pytest.fixture(scope="module")
def game(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ssg") / "game.json"
    assert (
        main(["generate", "ssg", "--targets", "3", "--types", "5", "--seed", "2", str(path)]) == 0
    )
    return path


def test_generate_is_reproducible(game: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.json"
    assert (
        main(["generate", "ssg", "--targets", "3", "--types", "5", "--seed", "2", str(again)]) == 0
    )
    a, b = json.loads(game.read_text()), json.loads(again.read_text())
    for key in ("budget", "lambda", "defender_reward", "defender_penalty", "attacker_reward",
                "attacker_penalty"):  # fmt: skip
        assert a[key] == b[key]
    assert len(a["defender_reward"]) == 5 and len(a["defender_reward"][0]) == 3


@pytest.mark.parametrize("objective", ["erm", "variance", "chi2"])
def test_solve_json_contract(game: Path, tmp_path: Path, objective: str) -> None:
    out = tmp_path / "out.json"
    rho = "0" if objective == "erm" else "2"
    args = ["solve", "ssg", str(game), "--objective", objective, "--rho", rho, "--pieces", "3"]
    assert main([*args, "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert CONTRACT <= set(d)
    assert set(d["certificate"]) >= {"lower", "upper", "gap", "lines"}
    assert d["method"] == "misocp" and d["solver"] == "scip"
    assert len(d["coverage"]) == 3 and sum(d["coverage"]) <= 1.0 + 1e-9
    inst = read_instance(game)
    exact = evaluate(inst, np.array(d["coverage"]), objective, float(rho))
    assert d["objective"] == pytest.approx(exact, abs=1e-9)
    assert d["certificate"]["lower"] == d["objective"] and d["certificate"]["upper"] == d["bound"]
    assert d["bound"] >= d["objective"]
    assert [ln["name"] for ln in d["certificate"]["lines"]] == ["solver_bound", "pwla"]


def test_baseline_has_null_bound(game: Path, tmp_path: Path) -> None:
    out = tmp_path / "pga.json"
    args = ["solve", "ssg", str(game), "--objective", "variance", "--rho", "1", "--method", "pga"]
    assert main([*args, "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["bound"] is None and d["method"] == "pga" and d["objective"] is not None


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dro_opt.cli", *args], capture_output=True, text=True, timeout=120
    )


def _bad_game(tmp_path: Path, game: Path, **change: object) -> Path:
    d = json.loads(game.read_text())
    d.update(change)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(d))  # json writes NaN as NaN (read back as float nan)
    return path


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"budget": -1}, "budget"),
        ({"budget": 4}, "budget"),
        ({"lambda": -0.5}, "lambda"),
        ({"defender_reward": [[1.0, 2.0]] * 5}, "shape"),
        ({"attacker_penalty": [[float("nan"), -5.0, -6.0]] * 5}, "NaN"),
    ],
)
def test_bad_instance_exits_2(game: Path, tmp_path: Path, change: dict, word: str) -> None:
    bad = _bad_game(tmp_path, game, **change)
    out = tmp_path / "never.json"
    r = _run(["solve", "ssg", str(bad), "--pieces", "2", "--json", str(out)])
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and word in r.stderr and r.stdout == ""
    assert not out.exists()


@pytest.mark.parametrize(
    "extra",
    [["--pieces", "0"], ["--pieces", "x"], ["--rho", "-1"], ["--strata", "2"], ["--gap", "-1"]],
)
def test_bad_options_exit_2(game: Path, tmp_path: Path, extra: list[str]) -> None:
    out = tmp_path / "never.json"
    r = _run(["solve", "ssg", str(game), *extra, "--json", str(out)])
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stdout == ""
    assert not out.exists()


def test_generate_bad_input_exits_2(tmp_path: Path) -> None:
    for extra in (["--budget", "5"], ["--lambda", "-1"], ["--targets", "0"]):
        args = ["generate", "ssg", "--targets", "3", "--types", "2", *extra]
        r = _run([*args, str(tmp_path / "g.json")])
        assert r.returncode == 2 and r.stderr.count("\n") == 1, (extra, r.stderr)
    assert not (tmp_path / "g.json").exists()
