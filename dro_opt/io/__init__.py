"""dro_opt.io"""
