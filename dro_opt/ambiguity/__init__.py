"""dro_opt.ambiguity"""
