* dro_opt model 'ref_rsocp' (SOCP): 2 variables, 3 rows, 1 quadratic cone rows
* Second-order cones as slack columns slack_k = b - A x with one QCMATRIX row each:
*   SOC  sum_(i>=1) s_i^2 - s_0^2 <= 0, s_0 >= 0;  RSOC sum_(i>=2) s_i^2 - 2 s_0 s_1 <= 0, s_0, s_1 >= 0
* Objective constant = minus the RHS of the objective row.
NAME          ref_rsocp
ROWS
 N  obj
 E  rot_0
 E  rot_1
 E  rot_2
 L  qc_0
COLUMNS
    u_0  obj  1
    u_0  rot_0  -1
    x_0  obj  -1
    x_0  rot_2  -1
    slack_0  rot_0  1
    slack_1  rot_1  1
    slack_2  rot_2  1
RHS
    RHS       rot_1       1
BOUNDS
 FR BND       u_0
 FR BND       x_0
 FR BND       slack_2
QCMATRIX   qc_0
    slack_0  slack_1  -1
    slack_1  slack_0  -1
    slack_2  slack_2  1
ENDATA
