"""``dro-opt compare`` (issue 6): isolation, consistency, resume, Dask, trajectories, profiles.

Real solvers (SCIP, HiGHS, Clarabel) on the tiny reference models with known optima, plus the
misbehaving test doubles of ``tests/compare_fakes.py`` loaded in every worker process.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dro_opt.compare import CompareConfig, parse_target, parse_targets, run_compare
from dro_opt.compare.consistency import annotate, find_conflicts, proven_interval
from dro_opt.compare.plugins import PARENT_ENV, PLUGINS_ENV
from dro_opt.compare.profiles import performance_profile
from dro_opt.compare.records import ROW_FIELDS, read_rows
from dro_opt.compare.targets import parse_methods
from dro_opt.errors import ModelFileError, ParameterError
from dro_opt.instances.reference_models import REFERENCE_MODELS

FAKES = str(Path(__file__).with_name("compare_fakes.py"))
CONTRACT_KEYS = {
    "target", "solver", "method", "status", "objective", "bound", "gap", "solve_seconds",
    "message", "nodes", "solver_version", "license", "repeat", "wall_seconds", "trajectory",
    "consistency",
}  # fmt: skip


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Reference models written as files: milp.mps, lp.lp, misocp.cbf, knap.mps."""
    from dro_opt.io.formats import write_model

    d = tmp_path_factory.mktemp("models")
    write_model(REFERENCE_MODELS["milp"].build(), d / "milp.mps")
    write_model(REFERENCE_MODELS["lp"].build(), d / "lp.lp")
    write_model(REFERENCE_MODELS["misocp"].build(), d / "misocp.cbf")
    write_model(_knapsack(), d / "knap.mps")
    return d


def _knapsack(n: int = 60, m: int = 5, seed: int = 0) -> Any:
    """A multi-dimensional 0/1 knapsack that takes SCIP/HiGHS a few hundred nodes."""
    from dro_opt.conic import ConicBuilder

    rng = np.random.default_rng(seed)
    v = rng.integers(5, 50, n).astype(float)
    w = rng.integers(5, 40, (m, n)).astype(float)
    bld = ConicBuilder("max", name="knap")
    x = bld.add_variables("x", n, lb=0, ub=1, vtype="binary")
    bld.add_le("cap", [(x, w)], np.floor(w.sum(axis=1) / 3))
    bld.set_objective([(x, v)])
    return bld.build()


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env[PLUGINS_ENV] = FAKES
    env.update(extra)
    return env


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dro_opt.cli", "compare", *args],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _rows(path: Path) -> dict[tuple[str, str, str, int], dict[str, Any]]:
    runs = json.loads(path.read_text())["runs"]
    return {(r["target"], r["solver"], r["method"], r["repeat"]): r for r in runs}


# ------------------------------------------------------------------ targets
def test_target_grammar(models: Path) -> None:
    t = parse_target("mc-flp:default?budget=3&objective=chi2&rho=100&per-stratum=5&strata=4")
    assert t.kind == "mc-flp" and t.path is None
    assert t.params == {
        "budget": 3, "objective": "chi2", "rho": 100.0, "per_stratum": 5, "strata": 4,
    }  # fmt: skip
    assert t.methods(None) == ("auto",) and t.methods(("oa", "misocp")) == ("oa", "misocp")
    m = parse_target(str(models / "milp.mps"))
    assert m.kind == "model" and m.methods(("oa",)) == ("direct",)
    assert parse_methods("misocp, oa") == ("misocp", "oa")
    bad = [
        "mc-flp:default",  # no budget
        "mc-flp:default?budget=3&colour=red",  # unknown key
        "mc-flp:default?budget=3&rho=-1",
        "mc-flp:default?budget=x",
        "mc-flp:default?budget=3&budget=4",
        "mc-flp:default?budget=3&strata=2",  # strata without per_stratum
        "model.txt",
    ]
    for spec in bad:
        with pytest.raises(ParameterError):
            parse_target(spec)
    with pytest.raises(ModelFileError):
        parse_target(str(models / "missing.mps"))
    with pytest.raises(ParameterError, match="alpha"):
        data = models / "inst.data"
        data.write_text("1 1 1\n1\n-1\n-1\n")
        parse_target(f"mc-flp:{data}?budget=1")
    with pytest.raises(ParameterError, match="twice"):
        parse_targets([str(models / "lp.lp"), str(models / "lp.lp")])
    with pytest.raises(ParameterError):
        parse_methods("oa,greedy")


# ------------------------------------------------------------------ consistency
def test_proven_intervals_and_conflicts() -> None:
    def row(solver: str, status: str, obj: float | None, bnd: float | None, sense: str) -> dict:
        return {
            "target": "t", "solver": solver, "method": "direct", "repeat": 1, "status": status,
            "objective": obj, "bound": bnd, "sense": sense,
        }  # fmt: skip

    assert proven_interval(row("a", "optimal", 20, 20.5, "max")) == (20, 20.5)
    assert proven_interval(row("a", "time_limit", 5, 3, "min")) == (3, 5)
    assert proven_interval(row("a", "time_limit", None, 3, "min")) == (3, math.inf)
    assert proven_interval(row("a", "optimal", 7, None, "min")) == (7, 7)
    assert proven_interval(row("a", "error", 7, 7, "min")) is None
    # overlapping (incl. within 1e-6 relative) is fine; disjoint is flagged, both directions
    ok = [row("a", "optimal", 20, 20, "max"), row("b", "time_limit", 18, 25, "max")]
    assert find_conflicts(ok) == []
    assert (
        find_conflicts(
            [row("a", "optimal", 20, 20, "max"), row("b", "optimal", 20 + 1e-9, 20 + 1e-9, "max")]
        )
        == []
    )
    wrong = [*ok, row("c", "optimal", 23, 23, "max")]
    conflicts = annotate(wrong)
    assert [(c.first, c.second) for c in conflicts] == [("a#1", "c#1")]
    assert wrong[0]["consistency"].startswith("CONFLICT") and "c#1" in wrong[0]["consistency"]
    assert wrong[1]["consistency"] == "ok"  # [18, 25] contains 23 and 20
    mins = [row("a", "optimal", 1.0, 1.0, "min"), row("b", "feasible", 3.0, 1.5, "min")]
    assert len(find_conflicts(mins)) == 1  # b proves OPT >= 1.5 > 1.0 found by a
    claims = [row("a", "infeasible", None, None, "min"), row("b", "feasible", 3.0, None, "min")]
    assert "infeasible" in find_conflicts(claims)[0].reason


# ------------------------------------------------------------------ isolation
def test_crash_hang_memory_and_licence_rows_while_others_complete(models: Path) -> None:
    out = models / "fail.json"
    proc = _cli(
        [
            "milp.mps",
            "--solvers",
            "highs,fake_crash,fake_hang,fake_license,fake_memory,scip",
            "--time-limit",
            "1",
            "--jobs",
            "2",
            "--json",
            str(out),
        ],
        cwd=models,
        DRO_OPT_COMPARE_GRACE="2",
        DRO_OPT_COMPARE_MEMORY_MB="1500",
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    rows = _rows(out)
    assert len(rows) == 6
    for r in rows.values():
        assert CONTRACT_KEYS <= r.keys() and set(r) == set(ROW_FIELDS)
        assert r["target"] == "milp.mps" and r["method"] == "direct"
    for solver in ("highs", "scip"):
        good = rows[("milp.mps", solver, "direct", 1)]
        assert good["status"] == "optimal" and good["objective"] == pytest.approx(20.0)
        assert good["bound"] == pytest.approx(20.0) and good["consistency"] == "ok"
    crash = rows[("milp.mps", "fake_crash", "direct", 1)]
    assert crash["status"] == "crashed" and "SIGSEGV" in crash["message"]
    hang = rows[("milp.mps", "fake_hang", "direct", 1)]
    assert hang["status"] == "time_limit" and hang["killed"] is True
    assert "killed at the hard wall-clock limit" in hang["message"]
    assert hang["wall_seconds"] < 30
    lic = rows[("milp.mps", "fake_license", "direct", 1)]
    assert lic["status"] == "license_limit" and "licence" in lic["message"]
    assert lic["license"].startswith("size-limited")
    mem = rows[("milp.mps", "fake_memory", "direct", 1)]
    assert mem["status"] in ("error", "crashed") and "memory" in mem["message"]
    assert "failed" in proc.stderr and "fake_crash" in proc.stderr
    assert "fake_license" not in proc.stderr.split("failed:")[1]  # a licence limit is no failure


def test_wrong_bound_is_flagged_loudly(models: Path) -> None:
    out = models / "wrong.json"
    proc = _cli(
        ["knap.mps", "--solvers", "scip,highs,fake_wrong", "--json", str(out)],
        cwd=models,
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "CONFLICT" in proc.stdout and "CONFLICT" in proc.stderr
    rows = _rows(out)
    for target in ("knap.mps",):
        wrong = rows[(target, "fake_wrong", "direct", 1)]
        assert wrong["status"] == "optimal"  # it claims a proof...
        assert wrong["consistency"].startswith("CONFLICT")  # ...that the others refute
        scip, highs = rows[(target, "scip", "direct", 1)], rows[(target, "highs", "direct", 1)]
        assert scip["objective"] == pytest.approx(highs["objective"], rel=1e-6)
        assert "scip#1" in wrong["consistency"] and "highs#1" in wrong["consistency"]
        assert scip["consistency"].startswith("CONFLICT: vs fake_wrong#1")


def test_json_contract_and_unsupported_rows(models: Path) -> None:
    out, csv_out = models / "contract.json", models / "contract.csv"
    proc = _cli(
        [
            "milp.mps",
            "misocp.cbf",
            "--solvers",
            "scip,highs,clarabel",
            "--json",
            str(out),
            "--csv",
            str(csv_out),
        ],
        cwd=models,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    assert len(data["runs"]) == 6
    rows = _rows(out)
    assert {k[0] for k in rows} == {"milp.mps", "misocp.cbf"}
    assert rows[("milp.mps", "scip", "direct", 1)]["objective"] == pytest.approx(20.0)
    assert rows[("milp.mps", "highs", "direct", 1)]["status"] == "optimal"
    scip = rows[("misocp.cbf", "scip", "direct", 1)]
    assert scip["status"] == "optimal"
    assert scip["objective"] == pytest.approx(REFERENCE_MODELS["misocp"].optimum, rel=1e-6)
    for key in (("milp.mps", "clarabel"), ("misocp.cbf", "highs"), ("misocp.cbf", "clarabel")):
        r = rows[(*key, "direct", 1)]
        assert r["status"] == "unsupported" and "lacks" in r["message"], r
    assert all(r["solver_version"] for r in rows.values())
    assert read_rows(None, csv_out) == data["runs"]  # the CSV holds the same rows


# ------------------------------------------------------------------ resume
def test_resume_after_killing_a_sweep(models: Path) -> None:
    out = models / "sweep.json"
    args = ["milp.mps", "lp.lp", "knap.mps", "--solvers", "highs,fake_slow", "--json", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "dro_opt.cli", "compare", *args],
        cwd=models,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if out.is_file() and json.loads(out.read_text())["runs"]:
                break
            time.sleep(0.05)
        else:
            pytest.fail("no row landed within 120 s")
        time.sleep(1.5)  # the next worker (fake_slow: 3 s pause) is now past its start-up
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    first = json.loads(out.read_text())["runs"]
    assert 1 <= len(first) < 6
    deadline = time.time() + 1  # a fake_slow worker would live on for about 2 s by itself
    while _orphans(proc.pid) and time.time() < deadline:
        time.sleep(0.1)
    assert _orphans(proc.pid) == [], "a worker outlived its killed parent"
    done = _cli([*args, "--resume"], cwd=models)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "resuming" in done.stdout
    runs = json.loads(out.read_text())["runs"]
    keys = [(r["target"], r["solver"], r["method"], r["repeat"]) for r in runs]
    assert len(keys) == len(set(keys)) == 6
    before = {(r["target"], r["solver"]): r["wall_seconds"] for r in first}
    after = {(r["target"], r["solver"]): r["wall_seconds"] for r in runs}
    assert all(after[k] == v for k, v in before.items())  # finished rows were not re-run
    assert all(r["status"] == "optimal" for r in runs)


def _orphans(parent_pid: int) -> list[int]:
    """Worker processes started by ``parent_pid`` that are still alive."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes()
            env = (entry / "environ").read_bytes()
        except OSError:
            continue
        if b"dro_opt.compare.worker" in cmd and f"{PARENT_ENV}={parent_pid}".encode() in env:
            pids.append(int(entry.name))
    return pids


# ------------------------------------------------------------------ dask
def test_dask_local_cluster_gives_the_same_rows_as_jobs(
    models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    distributed = pytest.importorskip("distributed")
    monkeypatch.setenv(PLUGINS_ENV, FAKES)
    targets = parse_targets([str(models / "milp.mps"), str(models / "misocp.cbf")])
    config = CompareConfig(
        solvers=["scip", "highs", "fake_license", "fake_crash"], time_limit=5, jobs=2
    )
    local = run_compare(targets, config)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
    ):
        remote = run_compare(targets, config, dask_address=cluster.scheduler_address)

    def summary(rows: list[dict]) -> dict:
        return {
            (r["target"], r["solver"], r["method"], r["repeat"]): (
                r["status"],
                None if r["objective"] is None else round(r["objective"], 6),
            )
            for r in rows
        }

    assert len(local.rows) == 8
    assert summary(local.rows) == summary(remote.rows)
    assert {r["status"] for r in remote.rows} >= {"optimal", "crashed", "license_limit"}


# ------------------------------------------------------------------ trajectories
@pytest.mark.parametrize("solver", ["scip", "highs"])
def test_callback_trajectory_is_monotone_and_ends_at_the_result(models: Path, solver: str) -> None:
    from dro_opt.compare.runner import execute_task, plan_tasks

    config = CompareConfig(solvers=[solver], time_limit=20, plugins=[])
    (task,) = plan_tasks(parse_targets([str(models / "knap.mps")]), config)
    row = execute_task(task)
    assert row["status"] == "optimal", row
    assert row["trajectory_source"] == "callback"
    traj = np.array([[np.nan if v is None else v for v in p] for p in row["trajectory"]])
    assert len(traj) >= 3
    assert np.all(np.diff(traj[:, 0]) >= 0)
    primal, dual = traj[:, 1], traj[:, 2]
    assert np.all(np.diff(primal[~np.isnan(primal)]) >= -1e-9)  # max: incumbents improve
    assert np.all(np.diff(dual[~np.isnan(dual)]) <= 1e-9)  # bounds tighten
    ok = ~np.isnan(primal) & ~np.isnan(dual)
    assert np.all(primal[ok] <= dual[ok] + 1e-6)
    assert traj[-1, 1] == pytest.approx(row["objective"]) and traj[-1, 2] == pytest.approx(
        row["bound"]
    )
    assert np.nanmax(dual) > row["objective"] + 1  # the search did close a real gap


@pytest.mark.parametrize("solver", ["gurobi", "cplex", "xpress"])
def test_callback_trajectory_for_commercial_solvers(models: Path, solver: str) -> None:
    """Gurobi (MIP/MIPSOL callback), CPLEX (MIPInfoCallback) and Xpress (intsol / node-LP
    callbacks) record the bounds over time themselves; the log parsers are only a fallback."""
    from dro_opt.compare.runner import execute_task, plan_tasks
    from dro_opt.solvers.registry import get_backend

    if not get_backend(solver).is_installed():
        pytest.skip(f"{solver} is not installed")
    config = CompareConfig(solvers=[solver], time_limit=20, plugins=[])
    (task,) = plan_tasks(parse_targets([str(models / "knap.mps")]), config)
    row = execute_task(task)
    assert row["status"] == "optimal", row
    assert row["trajectory_source"] == "callback"
    traj = row["trajectory"]
    assert len(traj) >= 3
    duals = [d for _, _, d in traj if d is not None]
    assert max(duals) > row["objective"] + 1 and duals[-1] == pytest.approx(row["bound"])
    assert all(p <= d + 1e-6 for _, p, d in traj if p is not None and d is not None)


# ------------------------------------------------------------------ profiles, plots
def test_performance_profile_ratios() -> None:
    def row(target: str, solver: str, t: float, status: str = "optimal") -> dict:
        return {
            "target": target, "solver": solver, "method": "direct", "repeat": 1,
            "status": status, "solve_seconds": t,
        }  # fmt: skip

    rows = [
        row("p1", "a", 1.0), row("p1", "b", 2.0),
        row("p2", "a", 4.0), row("p2", "b", 1.0),
        row("p3", "a", 3.0), row("p3", "b", 9.0, "time_limit"),
        row("p3", "c", 1.0, "unavailable"),
    ]  # fmt: skip
    prof = performance_profile(rows)
    assert prof.configs == ["a", "b"]
    np.testing.assert_allclose(prof.ratios, [[1, 2], [4, 1], [1, np.inf]])

    def rho(cfg: int, tau: float) -> float:
        return float(prof.fractions[cfg, np.searchsorted(prof.taus, tau, side="right") - 1])

    assert rho(0, 1.0) == pytest.approx(2 / 3) and rho(1, 1.0) == pytest.approx(1 / 3)
    assert rho(1, 2.0) == pytest.approx(2 / 3) and rho(0, 4.0) == pytest.approx(1.0)
    assert prof.fraction_solved() == {"a": 1.0, "b": pytest.approx(2 / 3)}


def test_plots_png_and_self_contained_html(
    models: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dro_opt.compare import plots

    config = CompareConfig(solvers=["scip", "highs"], time_limit=20, plugins=[])
    outcome = run_compare(parse_targets([str(models / "knap.mps")]), config)
    curves = plots.gap_curves(outcome.rows)
    assert set(curves) == {str(models / "knap.mps")} and len(curves[str(models / "knap.mps")]) == 2
    png = plots.write_plot(outcome.rows, tmp_path / "gap.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    try:
        import plotly  # noqa: F401
    except ImportError:
        pass  # the fallback below is the page every install gets
    else:
        page = plots.write_plot(outcome.rows, tmp_path / "gap_plotly.html").read_text()
        assert "Plotly.newPlot" in page and "<script src" not in page  # plotly.js inlined
    monkeypatch.setitem(sys.modules, "plotly", None)  # force the no-plotly fallback
    page = plots.write_plot(outcome.rows, tmp_path / "gap.html").read_text()
    assert page.count("<svg") == 2 and "<polyline" in page and "<script>" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page and "src=" not in page  # nothing fetched from the network
    with pytest.raises(ParameterError):
        plots.write_plot(outcome.rows, tmp_path / "gap.pdf")


# ------------------------------------------------------------------ mc-flp + errors
def test_mcflp_targets_both_methods_agree(tmp_path: Path) -> None:
    out = tmp_path / "fl.json"
    specs = ["mc-flp:default?budget=2&objective=erm&rho=0"]
    proc = _cli(
        [*specs, "--solvers", "scip,highs", "--methods", "oa,misocp", "--time-limit", "30",
         "--json", str(out), "--plot", str(tmp_path / "fl.png")],
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = _rows(out)
    assert len(rows) == 4
    for r in rows.values():
        assert r["status"] == "optimal" and r["sense"] == "max" and r["consistency"] == "ok", r
        assert r["method_used"] == r["method"]
        ref = rows[(r["target"], "scip", "oa", 1)]["objective"]
        assert r["objective"] == pytest.approx(ref, rel=1e-6)
    assert rows[(specs[0], "highs", "misocp", 1)]["bound"] >= rows[(specs[0], "scip", "oa", 1)][
        "objective"
    ] * (1 - 1e-9)
    assert (tmp_path / "fl.png").read_bytes()[:4] == b"\x89PNG"
    # no --methods: the model's own choice, reported as "auto" with the method actually used
    chi2 = parse_targets(["mc-flp:default?budget=2&objective=chi2&rho=10"])
    outcome = run_compare(chi2, CompareConfig(solvers=["scip"], time_limit=30, plugins=[]))
    (row,) = outcome.rows
    assert row["method"] == "auto" and row["method_used"] == "oa" and row["status"] == "optimal"
    assert row["objective"] < rows[(specs[0], "scip", "oa", 1)]["objective"]  # robust <= ERM


def test_mcflp_trajectory_and_licence_rows(tmp_path: Path) -> None:
    """mc-flp rows carry the certified OA curve; a licence-limited MISOCP row shows no value."""
    out = tmp_path / "lic.json"
    spec = "mc-flp:default?budget=3&objective=erm&rho=0"
    proc = _cli(
        [spec, "--solvers", "scip,fake_license", "--methods", "oa,misocp", "--time-limit", "30",
         "--json", str(out)],
        cwd=tmp_path,
    )  # fmt: skip
    rows = _rows(out)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # a licence limit is not a failure
    oa = rows[(spec, "scip", "oa", 1)]
    assert oa["status"] == "optimal" and oa["trajectory_source"] == "certified"
    traj = oa["trajectory"]
    assert len(traj) >= 2 and traj[-1][1:] == [oa["objective"], oa["bound"]]
    duals = [p[2] for p in traj if p[2] is not None]
    assert duals == sorted(duals, reverse=True) and min(duals) >= oa["objective"]
    lic = rows[(spec, "fake_license", "misocp", 1)]
    assert lic["status"] == "license_limit"
    assert lic["objective"] is None and lic["bound"] is None and lic["trajectory"] == []
    assert "greedy" in lic["message"] and lic["consistency"] == "n/a"
    assert rows[(spec, "fake_license", "oa", 1)]["status"] == "unsupported"


@pytest.mark.parametrize(
    "args, needle",
    [
        (["lp.lp", "--solvers", "nosuch"], "unknown solver"),
        (["nothing.txt", "--solvers", "highs"], "neither a model file"),
        (["lp.lp", "--solvers", "highs", "--resume"], "--resume needs"),
        (["lp.lp", "--solvers", "highs", "--plot", "x.pdf"], ".png or .html"),
        (["mc-flp:default?budget=0", "--solvers", "highs"], "budget"),
    ],
)
def test_bad_input_is_one_line_exit_2(models: Path, args: list[str], needle: str) -> None:
    proc = _cli(args, cwd=models)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_progress_display_live_and_plain() -> None:
    import io

    pytest.importorskip("rich")
    from dro_opt.compare.table import ProgressDisplay, plain_table

    row = {
        "target": "m.mps", "solver": "scip", "method": "direct", "repeat": 1,
        "status": "optimal", "objective": 20.0, "bound": 20.0, "gap": 0.0, "solve_seconds": 0.1,
        "message": "", "consistency": "ok",
    }  # fmt: skip
    for live in (True, False):
        buf = io.StringIO()
        display = ProgressDisplay(stream=buf, live=live)
        display.start(1, 2)
        display.update(row)
        display.stop()
        text = buf.getvalue()
        assert "resuming: 2 run(s)" in text and "optimal" in text and "1/1" in text
    table = plain_table([row, {**row, "solver": "highs", "consistency": "CONFLICT: vs scip#1"}])
    assert table.splitlines()[0].split()[:3] == ["target", "solver", "method"]
    assert "CONFLICT: vs scip#1" in table
