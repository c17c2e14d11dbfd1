"""dro_opt.reformulations"""
