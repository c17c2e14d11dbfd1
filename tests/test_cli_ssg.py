"""``dro-opt generate ssg`` / ``dro-opt solve ssg`` (and the same command-line behaviour of
``dro-opt solve mc-fcp``): the JSON contract, bad input and output paths (exit 2 before any
work), a closed stdout, and the summary (parameters, 1-based targets / locations). Ctrl-C and
the progress line of these routes: tests/test_cli_signals.py, tests/test_cli_progress.py."""

from __future__ import annotations

import json
import os
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


def generate_instances(
    folder: Path, targets: int, types: int, clients: int, locations: int, game_seed: int = 2
) -> dict[str, Path]:
    """``dro-opt generate`` a security game and an MC-FCP instance into ``folder`` (also used by
    tests/test_cli_progress.py and tests/test_cli_signals.py)."""
    game, fcp = folder / "game.json", folder / "fcp.json"
    sizes = ["--targets", str(targets), "--types", str(types), "--seed", str(game_seed)]
    assert main(["generate", "ssg", *sizes, str(game)]) == 0
    sizes = ["--clients", str(clients), "--locations", str(locations)]  # seed 0
    assert main(["generate", "mc-fcp", str(fcp), *sizes]) == 0
    return {"ssg": game, "mc-fcp": fcp}


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
    """Bad input is refused before any work: run ``main`` in this process (same exit code and
    output as the console script, without an interpreter start per case)."""
    from test_cli import run_here

    return run_here(*args)


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
    [
        ["--pieces", "0"],
        ["--pieces", "x"],
        ["--rho", "-1"],
        ["--rho", "2"],  # the default objective erm has no radius
        ["--strata", "2"],
        ["--per-stratum", "2"],
        ["--clusters", "0"],
        ["--method", "pga", "--clusters", "2"],
        ["--gap", "-1"],
        ["--threads", "0"],
        ["--time-limit", "0"],
    ],
)
def test_bad_options_exit_2(
    game: Path, tmp_path: Path, extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "never.json"
    capsys.readouterr()
    code = main(["solve", "ssg", str(game), *extra, "--json", str(out)])  # in-process: fast
    stdout, stderr = capsys.readouterr()
    assert code == 2 and stderr.count("\n") == 1 and stdout == "", stderr
    assert not out.exists()


def test_generate_bad_input_exits_2(tmp_path: Path) -> None:
    for extra in (["--budget", "5"], ["--lambda", "-1"], ["--targets", "0"]):
        args = ["generate", "ssg", "--targets", "3", "--types", "2", *extra]
        r = _run([*args, str(tmp_path / "g.json")])
        assert r.returncode == 2 and r.stderr.count("\n") == 1, (extra, r.stderr)
    assert not (tmp_path / "g.json").exists()


# ------------------------------------------------- command-line behaviour of ssg and mc-fcp
@pytest.fixture(scope="module")
def fcp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fcp") / "fcp.json"
    assert main(["generate", "mc-fcp", str(path), "--clients", "10", "--locations", "3"]) == 0
    return path


#: route -> (the command before the instance, options after it, the modules whose reader and
#: solver must not run when an output path is refused).
ROUTES = {
    "ssg": (["solve", "ssg"], ["--pieces", "2"]),
    "mc-fcp": (["solve", "mc-fcp"], ["--budget", "1", "--pieces", "2"]),
}


def _no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the instance or solving fails the test: a refusal must come before both."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("work started before the output path was checked")

    import dro_opt.models.facility_cost.cli_support as fcp_cli
    import dro_opt.models.facility_cost.solve as fcp_solve
    import dro_opt.models.security_game.instance as ssg_instance
    import dro_opt.models.security_game.solve as ssg_solve

    monkeypatch.setattr(ssg_instance, "read_instance", forbidden)
    monkeypatch.setattr(ssg_solve, "solve_ssg", forbidden)
    monkeypatch.setattr(fcp_cli, "load_instance", forbidden)
    monkeypatch.setattr(fcp_solve, "solve_mc_fcp", forbidden)


@pytest.mark.parametrize("route", list(ROUTES))
def test_bad_json_path_refused_before_any_work(
    route: str, game: Path, fcp: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    command, options = ROUTES[route]
    source = game if route == "ssg" else fcp
    instance = tmp_path / "in" / source.name  # a copy: "same as the input" must not touch it
    instance.parent.mkdir()
    instance.write_bytes(source.read_bytes())
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    cases = [
        (tmp_path / "no" / "such" / "out.json", "does not exist"),
        (instance, "input"),
        (tmp_path, "directory"),
    ]
    if not os.access(ro, os.W_OK):  # root may write into a 0o555 directory
        cases.append((ro / "out.json", "not writable"))
    _no_work(monkeypatch)
    try:
        for path, word in cases:
            capsys.readouterr()
            code = main([*command, str(instance), *options, "--json", str(path)])
            out, err = capsys.readouterr()
            assert code == 2, (path, err)
            assert err.count("\n") == 1 and word in err and str(path) in err, err
            assert out == ""
        assert instance.read_bytes() == source.read_bytes()  # the input was not overwritten
        assert not (tmp_path / "no").exists() and list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


@pytest.mark.parametrize("route", list(ROUTES))
def test_closed_stdout_keeps_the_json(route: str, game: Path, fcp: Path, tmp_path: Path) -> None:
    """``dro-opt solve ... | head -0``: every write to stdout fails, the work and the file not."""
    command, options = ROUTES[route]
    out = tmp_path / "out.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dro_opt.cli", *command, str(game if route == "ssg" else fcp),
         *options, "--json", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader leaves before the first line
    err = proc.stderr.read()
    assert proc.wait(timeout=300) == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    data = json.loads(out.read_text())
    assert data["status"] in ("optimal", "feasible") and data["certificate"]["upper"] is not None


def _summary(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[dict[str, str], str]:
    capsys.readouterr()
    assert main(args) == 0
    text = capsys.readouterr().out
    return {ln.split(":", 1)[0]: ln.split(":", 1)[1].strip() for ln in text.splitlines()}, text


def _entries(text: str) -> dict[int, float]:
    return {int(k): float(v) for k, v in (e.split(": ") for e in text.split(", "))}


def test_ssg_summary_echoes_parameters_and_1_based_targets(
    game: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.json"
    args = ["solve", "ssg", str(game), "--objective", "chi2", "--rho", "2", "--pieces", "2"]
    lines, text = _summary(capsys, [*args, "--json", str(out)])
    d = json.loads(out.read_text())
    for part in ("objective chi2", "rho 2", "method misocp", "pieces 2", "pwla-mode adaptive",
                 "gap 0.0001"):  # fmt: skip
        assert part in lines["parameters"], lines["parameters"]
    coverage = _entries(lines["coverage by target (1-based)"])
    assert sorted(coverage) == [1, 2, 3]  # every target, numbered from 1
    assert [coverage[j] for j in (1, 2, 3)] == pytest.approx(d["coverage"], abs=1e-4)
    assert float(lines["lower"].split()[0]) == pytest.approx(d["certificate"]["lower"])
    assert float(lines["upper"].split()[0]) == pytest.approx(d["certificate"]["upper"])
    assert "message" not in text and "certificate pwla" not in text  # internals: --verbose
    assert d["parameters"]["gap"] == 1e-4 and d["parameters"]["rho"] == 2.0
    assert d["pwla_mode"] == d["parameters"]["pwla_mode"] == "adaptive"
    _, verbose = _summary(capsys, [*args, "--verbose"])
    assert "certificate pwla:" in verbose and "certificate solver_bound:" in verbose


def test_mc_fcp_summary_echoes_parameters_and_1_based_locations(
    fcp: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.json"
    args = ["solve", "mc-fcp", str(fcp), "--budget", "1", "--objective", "variance", "--rho",
            "3", "--pieces", "2", "--json", str(out)]  # fmt: skip
    lines, text = _summary(capsys, args)
    d = json.loads(out.read_text())
    for part in ("budget 1", "objective variance", "rho 3", "method secant", "pieces 2"):
        assert part in lines["parameters"], lines["parameters"]
    investment = _entries(lines["investment by location (1-based)"])
    assert sorted(investment) == [1, 2, 3]
    assert [investment[j] for j in (1, 2, 3)] == pytest.approx(d["investment"], abs=1e-4)
    assert float(lines["lower"].split()[0]) == pytest.approx(d["certificate"]["lower"])
    assert lines["status"] == d["status"] and "message" not in text
    assert d["parameters"]["method"] == "secant" and d["parameters"]["gap"] == 1e-4
