"""Ctrl-C and the time budget of ``dro-opt``, with real signals (issue 11 item 5).

Each test starts ``dro-opt`` in its own session (as a terminal's foreground job), waits until the
solver's library is loaded and the solve is under way, sends SIGINT to the whole process group
(what Ctrl-C does) and checks: exit code 130, status ``interrupted`` in the summary and in the
JSON, the JSON complete (it parses, no temporary file beside it), the certificate of the best
decision so far (``lower <= upper``, ``lower`` = the objective), no solver text on stdout, and
that the solver itself was stopped by the signal (its native status), not merely skipped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
HM14 = ROOT.parent / "shared" / "data" / "hm14"
SOLVER_TEXT = ("pressed CTRL-C", "Copyright", "presolv", "LP iter", "Running HiGHS", "Solving")
SUMMARY_PREFIXES = (
    "instance:",
    "parameters:",
    "status:",
    "open locations",
    "lower:",
    "upper:",
    "gap:",
    "method:",
    "time:",
)


def _loaded(pid: int, marker: str) -> bool:
    try:
        return marker in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def _solving(pid: int, solver: str) -> bool:
    """SCIP: its ``optimize`` is running (dro_opt silences fd 1 exactly then, ``quiet_fds``);
    HiGHS: its library is loaded (the model is then built and solved)."""
    if solver == "highs":
        return _loaded(pid, "highspy/_core")
    try:
        return os.readlink(f"/proc/{pid}/fd/1") == os.devnull
    except OSError:
        return False


def interrupt_run(
    args: list[str], solver: str, after: float = 1.5, timeout: float = 120
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``dro-opt ARGS``; ``after`` s after ``solver`` started (:func:`_solving`), Ctrl-C.
    Returns the finished process and the seconds from the signal to its exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dro_opt.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        start = time.monotonic()
        while not _solving(proc.pid, solver):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() - start < timeout, "the solver never started"
            time.sleep(0.02)
        time.sleep(after)
        assert proc.poll() is None, "finished before the signal: the instance is too easy"
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=timeout)
        latency = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), latency


def check_interrupted(proc: subprocess.CompletedProcess[str], out: Path) -> dict[str, Any]:
    assert proc.returncode == 130, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    for text in SOLVER_TEXT:
        assert text not in proc.stdout, proc.stdout
    assert "status: interrupted" in proc.stdout
    data = json.loads(out.read_text())  # complete: it parses
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left
    assert data["status"] == "interrupted"
    return data


def check_certificate(data: dict[str, Any]) -> None:
    cert = data["certificate"]
    assert cert["lower"] == pytest.approx(data["objective"], rel=1e-12)
    assert cert["upper"] is None or cert["lower"] <= cert["upper"] + 1e-9


def mcflp(tmp_path: Path, *args: str) -> list[str]:
    return ["solve", "mc-flp", *args, "--json", str(tmp_path / "out" / "out.json")]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    (tmp_path / "out").mkdir()
    return tmp_path / "out" / "out.json"


def test_sigint_mc_flp_oa_scip_master(tmp_path: Path, out: Path) -> None:
    """Before: exit 0 with status 'feasible' and SCIP's 'pressed CTRL-C' on stdout."""
    args = mcflp(
        tmp_path, str(HM14 / "HM14_800_25.data"), "--alpha", "0.05", "--beta", "1",
        "--budget", "5", "--objective", "chi2", "--rho", "100",
    )  # fmt: skip
    proc, latency = interrupt_run(args, "scip", after=0.3)
    data = check_interrupted(proc, out)
    check_certificate(data)
    assert data["method"] == "oa" and data["solver"] == "scip"
    # the chi-square OA gives SCIP's master a 1 s slice, then its branch-and-bound (Python)
    # takes over: SCIP stopped by its own handler, or the branch-and-bound by the flag
    message = data["message"]
    assert "status=userinterrupt" in message or "branch-and-bound" in message, message
    if "status=userinterrupt" not in message:
        assert "stopped at the time limit" in message.split("branch-and-bound", 1)[1], message
    assert latency < 15, latency
    for line in proc.stdout.splitlines():
        assert line.startswith(SUMMARY_PREFIXES), line


def test_sigint_mc_flp_misocp_scip(tmp_path: Path, out: Path) -> None:
    """Before: the chi-square bound still ran after the interrupted MISOCP (about 3 s more)."""
    args = mcflp(tmp_path, "--budget", "5", "--objective", "variance", "--rho", "10",
                 "--method", "misocp")  # fmt: skip
    proc, latency = interrupt_run(args, "scip", after=1.0)
    data = check_interrupted(proc, out)
    check_certificate(data)
    assert data["method"] == "misocp"
    assert data["result"]["extra"]["route_status"] == "interrupted"  # SCIP stopped by Ctrl-C
    assert data["result"]["extra"]["chi2_bound_seconds"] == 0.0  # no phase after the signal
    assert latency < 15, latency


def test_sigint_mc_flp_highs_milp(tmp_path: Path, out: Path) -> None:
    """HiGHS has no handler of its own: the interrupt callback stops it (exit 130, not 3)."""
    args = mcflp(
        tmp_path, str(HM14 / "HM14_400_25.data"), "--alpha", "0.05", "--beta", "1",
        "--budget", "8", "--method", "misocp", "--solver", "highs",
    )  # fmt: skip
    proc, latency = interrupt_run(args, "highs", after=3.0)
    data = check_interrupted(proc, out)
    check_certificate(data)
    assert data["solver"] == "highs"
    assert data["result"]["extra"]["route_status"] == "interrupted"
    # HiGHS looks at its interrupt callback between MIP phases only (measured: up to 5 s apart)
    assert latency < 30, latency


@pytest.fixture(scope="module")
def milp_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The paper's ERM MILP of HM14_400_25 (alpha 0.05, beta 1, r = 8): several seconds."""
    from dro_opt.io.formats import write_model
    from dro_opt.models.facility_location.cli_support import load_instance
    from dro_opt.models.facility_location.misocp import build_mc_flp_misocp

    path = tmp_path_factory.mktemp("model") / "erm.mps"
    instance = load_instance(HM14 / "HM14_400_25.data", 0.05, 1.0)
    write_model(build_mc_flp_misocp(instance, 8, "erm", 0.0), path)
    return path


@pytest.mark.parametrize("solver,native", [("scip", "userinterrupt"), ("highs", "kInterrupt")])
def test_sigint_solve_file(solver: str, native: str, milp_file: Path, out: Path) -> None:
    """Before: status 'interrupted' but exit code 3 (SCIP) / no JSON (HiGHS)."""
    args = ["solve-file", str(milp_file), "--solver", solver, "--json", str(out)]
    proc, latency = interrupt_run(args, solver, after=1.0 if solver == "scip" else 3.0)
    assert proc.returncode == 130, (proc.stdout, proc.stderr)
    for text in SOLVER_TEXT:
        assert text not in proc.stdout, proc.stdout
    assert "status: interrupted" in proc.stdout
    data = json.loads(out.read_text())
    assert data["status"] == "interrupted"
    assert data["extra"]["native_status"] == native  # the solver itself was stopped
    if data["objective"] is not None and data["bound"] is not None:
        assert data["objective"] <= data["bound"] + 1e-6  # maximisation: incumbent <= bound
    assert latency < 30, latency


def test_sigint_compare_keeps_finished_rows(tmp_path: Path) -> None:
    """compare: the finished run stays in the JSON, the running worker is killed, exit 130."""
    out = tmp_path / "cmp.json"
    hard = f"mc-flp:{HM14 / 'HM14_800_25.data'}?alpha=0.05&beta=1&budget=5&objective=chi2&rho=100"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dro_opt.cli", "compare", "mc-flp:default?budget=3", hard,
         "--solvers", "scip", "--methods", "oa", "--json", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        start = time.monotonic()
        while not (out.is_file() and json.loads(out.read_text())["runs"]):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() - start < 120
            time.sleep(0.1)
        time.sleep(1.5)  # the second run's worker is solving now
        assert proc.poll() is None
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, (stdout, stderr)
    assert "interrupted after 1 finished run(s)" in stderr
    assert "Traceback" not in stderr
    runs = json.loads(out.read_text())["runs"]
    assert [(r["target"], r["status"]) for r in runs] == [("mc-flp:default?budget=3", "optimal")]
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_sigint_before_the_solver_starts(out: Path) -> None:
    """Ctrl-C while the command is still loading its solver: it finishes the (short) start
    phase, starts no solver with time left, writes the certificate of what it has, status
    interrupted. (A Ctrl-C in the first ~0.3 s, while Python imports ``dro_opt`` itself before
    the handler exists, still gives Python's KeyboardInterrupt traceback.)"""
    proc = subprocess.Popen(
        [sys.executable, "-m", "dro_opt.cli", "solve", "mc-flp", str(HM14 / "HM14_800_25.data"),
         "--alpha", "0.05", "--beta", "1", "--budget", "5", "--objective", "chi2", "--rho",
         "100", "--json", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip  # the OA master loads SCIP (pyscipopt) only when it starts
    start = time.monotonic()
    while not _loaded(proc.pid, "pyscipopt.libs/libscip"):  # imported by the command
        assert proc.poll() is None and time.monotonic() - start < 60
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, (stdout, stderr)
    data = json.loads(out.read_text())
    assert data["status"] == "interrupted"
    check_certificate(data)
    assert "status: interrupted" in stdout


@pytest.fixture(scope="module")
def slow_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A security game and an MC-FCP instance whose solves take seconds to minutes (SCIP)."""
    from test_cli_ssg import generate_instances

    folder = tmp_path_factory.mktemp("slow")
    return generate_instances(folder, targets=6, types=60, clients=120, locations=8, game_seed=1)


SLOW = {  # ssg: the route runs > 60 s at load 10 (several SCIP solves of 4-10 s each); mc-fcp:
    # 4.7 CPU s, 12.7 s wall at load 9 (budget 2 became too easy for the 5 s budget test: 2.6 CPU s
    # once SCIP's MPEC heuristic was off; 60 clients x 6 locations took 2.2 s at load 4)
    "ssg": ["--objective", "chi2", "--rho", "5", "--pieces", "6"],
    "mc-fcp": ["--budget", "3", "--objective", "variance", "--rho", "3"],
}


@pytest.mark.parametrize("route", ["ssg", "mc-fcp"])
def test_sigint_ssg_and_mc_fcp(route: str, slow_inputs: dict[str, Path], out: Path) -> None:
    """Before: status 'feasible' and exit 0 (the routes' own status; Ctrl-C was not reported)."""
    args = ["solve", route, str(slow_inputs[route]), *SLOW[route], "--json", str(out)]
    proc, latency = interrupt_run(args, "scip", after=1.0)
    data = check_interrupted(proc, out)
    check_certificate(data)
    assert data["method"] in ("misocp", "secant") and data["solver"] == "scip"
    if route == "ssg":  # SCIP itself was stopped by the signal
        assert "interrupted" in [e["status"] for e in data["result"]["extra"]["solves"]]
    # measured with SIGINT at 16 moments of the ssg run and 8 of the mc-fcp run (load ~10 on 2
    # cores): ssg 0.35-2.4 s, mc-fcp 0.3-1.2 s. Before, ssg waited 98-144 s when the signal hit
    # Ipopt inside SCIP's MPEC heuristic (now off, dro_opt.solvers.scip_backend.NO_MPEC; one
    # clean CI run showed 36.9 s) and up to 6 s in the PWLA line's Python bisection (now 0.16 s)
    assert latency < 15, latency


# ------------------------------------------------------------------ the whole-command budget
#: What may run past --time-limit: the solver's own overrun at its limit (SCIP: ~0.2 s), the
#: exact re-evaluation and the JSON, and the interpreter's shutdown (0.7-1.0 s measured with
#: cvxpy and pyscipopt imported, load average ~7 on 2 cores). Before the budget the same command
#: with --time-limit 8 ran the MISOCP for 8 s after the imports (2-5 s) and then the chi-square
#: bound for another 0.8 s (at least 10% of the limit).
BUDGET_SLACK = 2.5


VR_MISOCP = ["--budget", "5", "--objective", "variance", "--rho", "10", "--method", "misocp"]
BUDGETS = {  # route -> (arguments after "solve", --time-limit)
    # the paper's VR MISOCP takes about a minute here; before the budget it ran its 8 s after the
    # imports and then the chi-square bound for another 0.8 s
    "mc-flp": (["mc-flp", *VR_MISOCP], 8.0),
    # the imports take 1.5-4 s of the 4: SCIP gets at most 2.5 s of its 5 CPU seconds
    "mc-fcp": (["mc-fcp", "{mc-fcp}", *SLOW["mc-fcp"]], 4.0),
    # before: 13.8-14.7 s wall for --time-limit 10 (the PWLA line and the polish ran after the
    # solver's share; the first solve's floor applied to every K)
    "ssg": (["ssg", "{ssg}", *SLOW["ssg"]], 8.0),
}


@pytest.mark.parametrize("route", list(BUDGETS))
def test_time_limit_is_a_budget_for_the_whole_command(
    route: str, slow_inputs: dict[str, Path], out: Path
) -> None:
    """``--time-limit T`` ends the whole command within ``T`` plus :data:`BUDGET_SLACK`, with
    status ``time_limit`` and the certificate of what it has."""
    args, limit = BUDGETS[route]
    args = [a.format(**{k: str(v) for k, v in slow_inputs.items()}) for a in args]
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "dro_opt.cli", "solve", *args, "--time-limit", str(limit),
         "--json", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    wall = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert data["status"] == "time_limit"
    assert wall <= limit + BUDGET_SLACK, wall
    if route == "mc-flp":
        assert data["result"]["extra"]["chi2_bound_seconds"] == 0.0  # no phase after the budget
    check_certificate(data)


# ------------------------------------------------------------------ the mechanism in-process
def test_handler_records_calls_stoppers_and_second_press_raises() -> None:
    from dro_opt import deadline, interrupt

    calls: list[str] = []
    with interrupt.handle_sigint():
        assert interrupt.installed() and not interrupt.requested()
        with interrupt.stopping(lambda: calls.append("outer")):
            with interrupt.stopping(lambda: calls.append("inner")):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.01)  # the handler runs between bytecodes
        assert interrupt.requested() and calls == ["inner", "outer"]
        assert deadline.time_left() == 0.0 and deadline.expired()
        assert deadline.clip(None) == deadline.MIN_SECONDS
        with interrupt.stopping(lambda: calls.append("late")):  # called at once when registered
            pass
        assert calls[-1] == "late"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
    assert not interrupt.installed() and not interrupt.requested()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_solver_interrupt_noted_only_under_the_handler() -> None:
    from dro_opt import interrupt

    interrupt.note_solver_interrupt()  # library use: never set behind the caller's back
    assert not interrupt.requested()
    with interrupt.handle_sigint():
        interrupt.note_solver_interrupt()
        assert interrupt.requested()


def test_deadline_clip_and_nesting() -> None:
    from dro_opt import deadline

    assert deadline.time_left() is None
    assert deadline.clip(7.0) == 7.0 and deadline.clip(None) is None
    with deadline.command_deadline(5.0):
        left = deadline.time_left()
        assert left is not None and 4.0 < left <= 5.0
        assert deadline.clip(2.0) == 2.0 and 4.0 < (deadline.clip(60.0) or 0) <= 5.0
        with deadline.command_deadline(100.0):  # an inner block cannot extend the budget
            assert (deadline.time_left() or 0) <= 5.0
        with deadline.command_deadline(1.0, start=time.perf_counter() - 2.0):
            assert deadline.expired() and deadline.clip(3.0) == deadline.MIN_SECONDS
        assert not deadline.expired()
    assert deadline.time_left() is None


def test_interrupted_status_exit_code() -> None:
    from dro_opt import interrupt
    from dro_opt.cli_common import EXIT_INTERRUPTED, command_status, status_exit_code
    from dro_opt.solvers.status import Status

    assert status_exit_code(Status.INTERRUPTED) == EXIT_INTERRUPTED == 130
    assert command_status(Status.TIME_LIMIT) is Status.TIME_LIMIT
    with interrupt.handle_sigint():
        interrupt.note_solver_interrupt()
        assert command_status(Status.TIME_LIMIT) is Status.INTERRUPTED
        assert command_status(Status.OPTIMAL) is Status.INTERRUPTED
