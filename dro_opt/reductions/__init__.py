"""dro_opt.reductions"""
