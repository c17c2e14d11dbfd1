"""Instance generators and small shipped instances (installed as dro_opt.instances)."""
