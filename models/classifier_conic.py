r"""Direct conic programs of the common DRO classifier fits, solved by Clarabel (issue 12).

:mod:`dro_opt.models.classification` builds every model in cvxpy and certifies it through
:func:`dro_opt.solve`. For the common dense fits this module writes the same programs straight
as Clarabel matrices (``min x'Px/2 + q'x`` s.t. ``A x + s = b``, ``s`` in a product of cones),
in bulk with ``scipy.sparse`` (no Python loop per sample), and certifies the returned decision
without a second solve:

* per-sample losses of the margins :math:`m_i = y_i (w'x_i + b)`: hinge
  :math:`u_i \ge 1 - m_i,\ u_i \ge 0`; logistic :math:`u_i \ge \log(1 + e^{-m_i})` as
  :math:`e^{-u_i} + e^{-m_i - u_i} \le 1`, two exponential cones and one row per sample;
* ``"erm"``: :math:`\frac1n \sum_i u_i`;
* ``"chi2"`` (:math:`\sum_i p_i (P_i/p_i - 1)^2/2 \le r`): Duchi & Namkoong's dual
  :math:`\inf_\eta \eta + \sqrt{1 + 2r}\,\sqrt{\frac1n \sum_i (u_i - \eta)_+^2}`, i.e.
  :math:`s \ge u - \eta,\ s \ge 0,\ \|s\|_2 \le \tau`, objective
  :math:`\eta + \sqrt{(1+2r)/n}\,\tau`
  (paper 002 Table 1 with :math:`\phi(t) = (t-1)^2/2`, Ben-Tal et al. 2013);
* ``"kl"``: :math:`\inf_{\lambda > 0} \lambda r + \lambda \log \frac1n \sum_i e^{u_i/\lambda}`
  (paper 002 Table 1 / Cor. 5.6 with :math:`\theta_1 \to \infty`), i.e. :math:`\lambda r + t`
  over ``ExpCone(u_i - t, lambda, eta_i)`` and :math:`\frac1n \sum_i \eta_i \le \lambda`;
* ``"wasserstein"`` with the cost :math:`\|x - x'\|_p` on the features, labels not moved and
  the whole space as support: the sup of a loss that is :math:`\|w\|_q`-Lipschitz in
  :math:`x` with that asymptotic slope (the hinge: max-affine with pieces :math:`-y_i w` and
  :math:`0`; the logistic loss) is **closed form** :math:`E_{\hat P}[\ell] + r \|w\|_q`
  (Mohajerin Esfahani & Kuhn 2018, Thm 6.3 / Rem. 6.6 for max-affine losses; for the logistic
  loss Shafieezadeh-Abadeh, Mohajerin Esfahani & Kuhn, NIPS 2015, Thm 1 with
  :math:`\kappa = \infty`), so no transport program is solved;
* ridge :math:`\frac\alpha2\|w\|^2` in ``P``; ``norm_penalty`` :math:`c \|w\|_2` by one cone.

Certificate (:func:`dro_opt.models.classifier_direct.fit_direct`, the rules of
:func:`dro_opt.dro.solve.solve_cvxpy`, ``docs/conventions.md``):
``upper`` is the exact objective of the returned ``(w, b)`` with the worst case re-evaluated on
the full data -- the dual value of a feasible dual point of the divergence ball
(:func:`dro_opt.ambiguity.phi_divergence.dual_worst_case`, an upper bound of the sup), the
closed form for the Wasserstein ball, the plain mean for ERM; ``lower`` is Clarabel's dual
objective widened by ``|solver objective - upper|``. ``status`` is ``"optimal"`` only when
Clarabel says ``Solved`` and the relative gap is within ``1e-5``. When Clarabel fails,
:func:`~dro_opt.models.classifier_direct.fit_direct` returns ``None`` and the caller takes the
cvxpy route.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

#: ``(loss, ambiguity)`` pairs written here (Wasserstein: norm cost only).
DIRECT_MODELS = frozenset(
    (loss, amb) for loss in ("hinge", "logistic") for amb in ("erm", "chi2", "kl", "wasserstein")
)


class Layout:
    """Consecutive variable blocks and cone-tagged row blocks of one Clarabel program."""

    def __init__(self) -> None:
        self.n = 0
        self.rows: dict[str, list[tuple[sp.spmatrix, np.ndarray, int]]] = {
            "nonneg": [],
            "soc": [],
            "exp": [],
        }

    def var(self, size: int) -> slice:
        block = slice(self.n, self.n + size)
        self.n += size
        return block

    def cols(self, block: slice, mat: sp.spmatrix | np.ndarray) -> sp.csr_matrix:
        """``mat`` placed in the columns of ``block`` of a full-width row block."""
        mat = sp.csr_matrix(mat)
        pad_l = sp.csr_matrix((mat.shape[0], block.start))
        pad_r = sp.csr_matrix((mat.shape[0], self.n_final - block.stop))
        return sp.hstack([pad_l, mat, pad_r], format="csr")

    def add(self, cone: str, expr: sp.spmatrix, const: np.ndarray, dim: int = 0) -> None:
        """Rows ``expr @ x + const`` in ``cone`` (``dim``: one SOC's dimension)."""
        self.rows[cone].append((sp.csr_matrix(expr), np.asarray(const, dtype=float), dim))


@dataclass
class Solved:
    """One Clarabel solve: the decision, the model's objective and dual bound, the status."""

    coef: np.ndarray
    intercept: float
    model_objective: float
    dual: float | None
    status: str


@dataclass(frozen=True)
class Options:
    loss: str
    amb: str
    r: float
    alpha: float
    norm_penalty: float
    fit_intercept: bool
    q_norm: float
    time_limit: float | None


def solve_rows(
    opts: Options, Xs: np.ndarray, ys: np.ndarray, consts: np.ndarray, n_total: int
) -> Solved | None:
    """Build and solve the program (module docstring) on the margin rows
    ``m_i = Xs_i w + ys_i b`` (the signed samples ``Xs = y x``, ``ys = y``), the hinge rows
    ``u_i >= consts_i - m_i`` (``consts = 1`` except for the screened groups of
    :func:`_screened`); ``n_total`` is the ``n`` of the ``1/n`` weights. ``None`` when
    Clarabel fails."""
    loss, amb, r, q_norm = opts.loss, opts.amb, opts.r, opts.q_norm
    n, d = Xs.shape
    lay = Layout()
    w = lay.var(d)
    b = lay.var(1 if opts.fit_intercept else 0)
    u = lay.var(n)
    extra = _robust_vars(lay, amb, loss, n, d, q_norm, opts.norm_penalty > 0)
    lay.n_final = lay.n
    q = np.zeros(lay.n)
    margin = lay.cols(w, Xs)
    if opts.fit_intercept:
        margin = margin + lay.cols(b, ys[:, None])
    _loss_rows(lay, loss, u, margin, extra, n, consts)
    _robust_rows(lay, amb, r, u, w, extra, q, n, q_norm)
    if amb in ("erm", "wasserstein"):
        q[u] = 1.0 / n_total
    # iterative refinement off first only where measured to pay (chi2 / KL); on the hinge
    # ERM / Wasserstein programs it was measured to end AlmostSolved and be re-run
    attempts = CLARABEL_ATTEMPTS if amb in ("chi2", "kl") else CLARABEL_ATTEMPTS[1:]
    return solve_layout(lay, q, w, b, extra.get("penalty"), opts, attempts)


#: Clarabel settings tried in turn until one run ends ``Solved`` (or at its time limit):
#: iterative refinement off first (measured 23-26 % faster on the n = 1000 chi2 / KL
#: benchmark fits, same iterations, objectives within 1e-8; used for those models only),
#: then the defaults, then without equilibration (measured: KL logistic n = 1000, d = 10
#: stalls with it and is solved without it).
CLARABEL_ATTEMPTS: tuple[dict[str, bool], ...] = (
    {"iterative_refinement_enable": False},
    {},
    {"equilibrate_enable": False},
)


def solve_layout(
    lay: Layout,
    q: np.ndarray,
    w: slice,
    b: slice,
    penalty: slice | None,
    opts: Options,
    attempts: tuple[dict[str, bool], ...] | None = None,
) -> Solved | None:
    """Add the regularisers (ridge in ``P``, ``norm_penalty`` by one cone on the ``penalty``
    variable), solve with Clarabel (QDLDL, the settings of ``attempts``, by default
    :data:`CLARABEL_ATTEMPTS`, in turn) and read ``(w, b)``; ``None`` when Clarabel fails."""
    import clarabel

    d = w.stop - w.start
    if opts.norm_penalty > 0 and penalty is not None:
        q[penalty] += opts.norm_penalty
        lay.add(
            "soc", sp.vstack([lay.cols(penalty, [[1.0]]), lay.cols(w, sp.identity(d))]), 0, d + 1
        )
    P = sp.csc_matrix((lay.n, lay.n))
    if opts.alpha > 0:
        diag = np.zeros(lay.n)
        diag[w] = opts.alpha
        P = sp.diags(diag, format="csc")
    A, rhs, cones = _assemble(lay, clarabel)
    sol, status = None, "NotRun"
    start = time.perf_counter()
    for changes in CLARABEL_ATTEMPTS if attempts is None else attempts:
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        # measured: the "auto" choice (faer) was 2-5x slower than QDLDL on these KKT systems
        # (a dense n x d block) on the 2-core test machine
        settings.direct_solve_method = "qdldl"
        if opts.time_limit is not None:  # shared by the attempts
            left = float(opts.time_limit) - (time.perf_counter() - start)
            if sol is not None and left <= 0:
                break
            settings.time_limit = max(left, 1e-3)
        for name, value in changes.items():
            setattr(settings, name, value)
        sol = clarabel.DefaultSolver(P, q, A, rhs, cones, settings).solve()
        status = str(sol.status)
        if status in ("Solved", "MaxTime"):
            break
    if status not in ("Solved", "AlmostSolved", "MaxTime", "MaxIterations"):
        return None
    x = np.asarray(sol.x, dtype=float)
    if not np.all(np.isfinite(x)):
        return None
    coef = x[w]
    intercept = float(x[b][0]) if opts.fit_intercept else 0.0
    dual = float(sol.obj_val_dual) if status == "Solved" else None
    return Solved(coef, intercept, float(sol.obj_val), dual, status)


def _robust_vars(
    lay: Layout, amb: str, loss: str, n: int, d: int, q_norm: float, penalty: bool
) -> dict[str, slice]:
    """The auxiliary variable blocks of the loss epigraph and the robust term."""
    extra: dict[str, slice] = {}
    if loss == "logistic":
        extra["v1"], extra["v2"] = lay.var(n), lay.var(n)
    if amb == "chi2":
        extra["eta"], extra["tau"], extra["s"] = lay.var(1), lay.var(1), lay.var(n)
    elif amb == "kl":
        extra["lam"], extra["t"], extra["eta"] = lay.var(1), lay.var(1), lay.var(n)
    elif amb == "wasserstein":
        extra["tau"] = lay.var(1)
        if q_norm == 1.0:
            extra["abs_w"] = lay.var(d)
    if penalty:
        extra["penalty"] = lay.var(1)
    return extra


def _loss_rows(
    lay: Layout,
    loss: str,
    u: slice,
    margin: sp.csr_matrix,
    extra: dict[str, slice],
    n: int,
    consts: np.ndarray,
) -> None:
    """``u_i >= loss(m_i)`` (module docstring; the hinge ``u_i >= consts_i - m_i``)."""
    eye = sp.identity(n, format="csr")
    if loss == "hinge":  # u + m - c >= 0, u >= 0
        lay.add("nonneg", lay.cols(u, eye) + margin, -consts)
        lay.add("nonneg", lay.cols(u, eye), np.zeros(n))
        return
    v1, v2 = extra["v1"], extra["v2"]
    zero = sp.csr_matrix((n, lay.n_final))
    # (-u, 1, v1) and (-m - u, 1, v2) in the exponential cone, 1 - v1 - v2 >= 0
    _exp_rows(lay, -lay.cols(u, eye), zero, lay.cols(v1, eye), (0.0, 1.0, 0.0))
    _exp_rows(lay, -lay.cols(u, eye) - margin, zero, lay.cols(v2, eye), (0.0, 1.0, 0.0))
    lay.add("nonneg", -lay.cols(v1, eye) - lay.cols(v2, eye), np.ones(n))


def _robust_rows(
    lay: Layout,
    amb: str,
    r: float,
    u: slice,
    w: slice,
    extra: dict[str, slice],
    q: np.ndarray,
    n: int,
    q_norm: float,
) -> None:
    """Rows and objective of the worst-case expected loss (module docstring)."""
    eye = sp.identity(n, format="csr")
    ones = np.ones((n, 1))
    if amb == "wasserstein":
        tau = extra["tau"]
        q[tau] = r
        _norm_rows(lay, tau, w, q_norm, extra.get("abs_w"))
    elif amb == "chi2":
        eta, tau, s = extra["eta"], extra["tau"], extra["s"]
        q[eta] = 1.0
        q[tau] = math.sqrt((1.0 + 2.0 * r) / n)
        lay.add("nonneg", lay.cols(s, eye) - lay.cols(u, eye) + lay.cols(eta, ones), np.zeros(n))
        lay.add("nonneg", lay.cols(s, eye), np.zeros(n))
        lay.add("soc", sp.vstack([lay.cols(tau, [[1.0]]), lay.cols(s, eye)]), 0, n + 1)
    elif amb == "kl":
        lam, t, eta = extra["lam"], extra["t"], extra["eta"]
        q[lam] = r
        q[t] = 1.0
        _exp_rows(
            lay,
            lay.cols(u, eye) - lay.cols(t, ones),
            lay.cols(lam, ones),
            lay.cols(eta, eye),
            (0.0, 0.0, 0.0),
        )
        row = lay.cols(lam, [[1.0]]) - lay.cols(eta, np.full((1, n), 1.0 / n))
        lay.add("nonneg", row, np.zeros(1))


def _norm_rows(lay: Layout, tau: slice, w: slice, q_norm: float, abs_w: slice | None) -> None:
    """``||w||_q <= tau`` for ``q`` in {1, 2, inf}."""
    d = w.stop - w.start
    eye = sp.identity(d, format="csr")
    t_col = lay.cols(tau, np.ones((d, 1)))
    if q_norm == 2.0:
        lay.add("soc", sp.vstack([lay.cols(tau, [[1.0]]), lay.cols(w, eye)]), 0, d + 1)
    elif q_norm == math.inf:  # tau - w_j >= 0, tau + w_j >= 0
        lay.add("nonneg", sp.vstack([t_col - lay.cols(w, eye), t_col + lay.cols(w, eye)]), 0)
    else:  # q = 1: z_j >= |w_j|, tau >= sum_j z_j
        z = lay.cols(abs_w, eye)
        lay.add("nonneg", sp.vstack([z - lay.cols(w, eye), z + lay.cols(w, eye)]), 0)
        lay.add("nonneg", lay.cols(tau, [[1.0]]) - lay.cols(abs_w, np.ones((1, d))), 0)


def _exp_rows(
    lay: Layout,
    gx: sp.csr_matrix,
    gy: sp.csr_matrix,
    gz: sp.csr_matrix,
    const: tuple[float, float, float],
) -> None:
    """``(gx_i x + c_x, gy_i x + c_y, gz_i x + c_z)`` in the exponential cone for every row
    ``i`` (rows interleaved per cone, Clarabel's order ``y exp(x / y) <= z``)."""
    n = gx.shape[0]
    stacked = sp.vstack([gx, gy, gz], format="csr")
    perm = np.arange(3 * n).reshape(3, n).T.ravel()
    lay.add("exp", stacked[perm], np.repeat(np.asarray(const)[None, :], n, axis=0).ravel())


def _assemble(lay: Layout, clarabel: object) -> tuple[sp.csc_matrix, np.ndarray, list]:
    """``A``, ``b`` and the cone list; a block ``G x + h in K`` is ``A = -G``, ``b = h``."""
    mats, rhs, cones = [], [], []
    for kind in ("nonneg", "soc", "exp"):
        blocks = lay.rows[kind]
        if not blocks:
            continue
        for mat, const, _dim in blocks:
            mats.append(-mat)
            rhs.append(np.broadcast_to(const, (mat.shape[0],)))
        if kind == "nonneg":
            cones.append(clarabel.NonnegativeConeT(sum(m.shape[0] for m, _, _ in blocks)))
        elif kind == "soc":
            cones.extend(clarabel.SecondOrderConeT(dim) for _, _, dim in blocks)
        else:
            cones.extend([clarabel.ExponentialConeT()] * sum(m.shape[0] // 3 for m, _, _ in blocks))
    A = sp.vstack(mats, format="csc")
    return A, np.concatenate(rhs), cones


def sample_losses(loss: str, margins: np.ndarray) -> np.ndarray:
    """Hinge ``max(1 - m, 0)`` or logistic ``log(1 + exp(-m))`` (overflow-free)."""
    if loss == "hinge":
        return np.maximum(1.0 - margins, 0.0)
    return np.logaddexp(0.0, -margins)


def exact_objective(
    loss: str,
    amb: str,
    r: float,
    margins: np.ndarray,
    coef: np.ndarray,
    *,
    alpha: float = 0.0,
    norm_penalty: float = 0.0,
    q_norm: float = 2.0,
) -> tuple[float, np.ndarray | None]:
    """``(value, worst-case weights)`` of the objective at a decision: an upper bound of the
    worst-case expected loss (module docstring) plus the regularisers; the weights are a
    feasible worst-case distribution of the training points (``None`` for Wasserstein)."""
    from dro_opt.ambiguity import divergence
    from dro_opt.ambiguity.phi_divergence import (
        dual_worst_case,
        kkt_primal,
        make_feasible,
        primal_worst_case,
    )

    losses = sample_losses(loss, margins)
    n = losses.size
    reg = 0.5 * alpha * float(coef @ coef) + norm_penalty * float(np.linalg.norm(coef))
    nominal = np.full(n, 1.0 / n)
    if r == 0.0 or amb == "erm":
        return float(losses.mean()) + reg, nominal
    if amb == "wasserstein":
        return float(losses.mean()) + r * float(np.linalg.norm(coef, q_norm)) + reg, None
    div = divergence(amb)
    value = dual_worst_case(div, r, losses, nominal)[0]
    P = kkt_primal(div, r, losses, nominal)
    weights = (
        make_feasible(div, r, P, nominal)
        if P is not None
        else primal_worst_case(div, r, losses, nominal)
    )
    return float(value) + reg, weights
