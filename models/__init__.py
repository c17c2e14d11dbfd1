"""Application models (installed as dro_opt.models)."""
