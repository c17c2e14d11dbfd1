"""Rewrite rules: one source -> target cone rewrite per file, written once against an
:class:`~dro_opt.reformulations.emitter.Emitter` (cvxpy constraints or bulk ConicBuilder blocks).

Worst-case expectations (duals of the sets of :mod:`dro_opt.ambiguity`; all exact):

* ``phi_dual`` -- assembly of the phi-divergence ball dual ``eta + lam r + p'w`` with
  ``w_i >= lam phi*((l_i - eta)/lam)`` (Ben-Tal et al. 2013; paper 002 Thm 5.5 without
  transport; the extra atom of Prop. 3.6), dispatching to the perspective rules:
* ``kl_exp_cone`` (exp), ``burg_exp_cone`` (exp), ``j_divergence_exp_cone`` (J = KL + Burg,
  infimal convolution, 2 exp per atom), ``chi2_distance_soc`` (rsoc), ``hellinger_soc`` (rsoc),
  ``chi_m_power_cone`` (power), ``cressie_read_power_cone`` (power, three exponent ranges),
  ``tv_linear`` (linear);
* ``chi2_soc`` -- chi-square ball, lambda-free dual (Duchi & Namkoong), one SOC;
* ``cvar_linear`` -- CVaR (Rockafellar & Uryasev 2000), linear;
* ``wasserstein_max_affine`` -- type-1 Wasserstein with a max-affine loss (Mohajerin Esfahani &
  Kuhn 2018, Thm 4.2 / Cor. 5.1), norm or squared cost, box support; SOC/linear;
* ``ot_kl_exp_cone`` -- joint KL + optimal transport (paper 002 Thm 5.8 / Cor. 5.9); exp + SOC.

Structural rules:

* ``variance_soc`` -- mean and standard deviation -> one zero row and one SOC (paper 003
  eq. (11)); exact.
* ``mccormick_fractional`` -- linear-fractional terms -> McCormick rows (paper 003 eqs. (2)-(10));
  exact for binary factors, a flagged relaxation for continuous ones.
* ``exp_cone_polyhedral`` (+ ``exp_cone_polyhedral_solve``) -- exponential cones -> tangent cuts
  (outer) and rays (inner) for LP/MILP solvers; the answer is a certified sandwich, with the
  remaining width as a certificate line.

Every rule is checked by the one harness ``tests/rule_harness.py`` (cases in
``tests/rule_cases_*.py``) against an independent solution of its source problem. The
repository's ``docs/modelling.md`` has the conventions.
"""
