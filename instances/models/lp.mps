* dro_opt model 'ref_lp' (LP): 2 variables, 2 rows, 0 quadratic cone rows
* Second-order cones as slack columns slack_k = b - A x with one QCMATRIX row each:
*   SOC  sum_(i>=1) s_i^2 - s_0^2 <= 0, s_0 >= 0;  RSOC sum_(i>=2) s_i^2 - 2 s_0 s_1 <= 0, s_0, s_1 >= 0
* Objective constant = minus the RHS of the objective row.
NAME          ref_lp
OBJSENSE
    MAX
ROWS
 N  obj
 L  rows_0
 L  rows_1
COLUMNS
    x_0  obj  1
    x_0  rows_0  1
    x_0  rows_1  3
    x_1  obj  1
    x_1  rows_0  2
    x_1  rows_1  1
RHS
    RHS       rows_0       4
    RHS       rows_1       6
BOUNDS
ENDATA
