# ASDA Table 2 (f) "(d) + dual-branch (full)": the full model, identical to
# configs/asda/asda_vitb_refcoco.py (kept here so that every Table 2 row has
# a config).
_base_ = ['../asda_vitb_refcoco.py']
