"""dro_opt.algorithms"""
