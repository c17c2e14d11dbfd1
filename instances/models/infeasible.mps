* dro_opt model 'ref_infeasible' (LP): 1 variables, 2 rows, 0 quadratic cone rows
* Second-order cones as slack columns slack_k = b - A x with one QCMATRIX row each:
*   SOC  sum_(i>=1) s_i^2 - s_0^2 <= 0, s_0 >= 0;  RSOC sum_(i>=2) s_i^2 - 2 s_0 s_1 <= 0, s_0, s_1 >= 0
* Objective constant = minus the RHS of the objective row.
NAME          ref_infeasible
ROWS
 N  obj
 L  lo_0
 L  hi_0
COLUMNS
    x_0  obj  1
    x_0  lo_0  -1
    x_0  hi_0  1
RHS
    RHS       lo_0       -2
    RHS       hi_0       1
BOUNDS
 FR BND       x_0
ENDATA
