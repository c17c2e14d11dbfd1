* dro_opt model 'ref_socp' (SOCP): 4 variables, 5 rows, 1 quadratic cone rows
* Second-order cones as slack columns slack_k = b - A x with one QCMATRIX row each:
*   SOC  sum_(i>=1) s_i^2 - s_0^2 <= 0, s_0 >= 0;  RSOC sum_(i>=2) s_i^2 - 2 s_0 s_1 <= 0, s_0, s_1 >= 0
* Objective constant = minus the RHS of the objective row.
NAME          ref_socp
ROWS
 N  obj
 E  dist_0
 E  dist_1
 E  dist_2
 E  dist_3
 L  budget_0
 L  qc_0
COLUMNS
    t_0  obj  1
    t_0  dist_0  -1
    y_0  dist_1  -1
    y_0  budget_0  1
    y_1  dist_2  -1
    y_1  budget_0  1
    y_2  dist_3  -1
    y_2  budget_0  1
    slack_0  dist_0  1
    slack_1  dist_1  1
    slack_2  dist_2  1
    slack_3  dist_3  1
RHS
    RHS       dist_1       -1
    RHS       dist_2       -2
    RHS       dist_3       -3
    RHS       budget_0       3
BOUNDS
 FR BND       t_0
 FR BND       slack_1
 FR BND       slack_2
 FR BND       slack_3
QCMATRIX   qc_0
    slack_0  slack_0  -1
    slack_1  slack_1  1
    slack_2  slack_2  1
    slack_3  slack_3  1
ENDATA
