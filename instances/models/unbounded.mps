* dro_opt model 'ref_unbounded' (LP): 2 variables, 1 rows, 0 quadratic cone rows
* Second-order cones as slack columns slack_k = b - A x with one QCMATRIX row each:
*   SOC  sum_(i>=1) s_i^2 - s_0^2 <= 0, s_0 >= 0;  RSOC sum_(i>=2) s_i^2 - 2 s_0 s_1 <= 0, s_0, s_1 >= 0
* Objective constant = minus the RHS of the objective row.
NAME          ref_unbounded
OBJSENSE
    MAX
ROWS
 N  obj
 L  row_0
COLUMNS
    x_0  obj  1
    x_0  row_0  1
    x_1  obj  1
    x_1  row_0  -1
RHS
    RHS       row_0       1
BOUNDS
ENDATA
