# ASDA Table 2 (e) "(d) + single-branch": the full neck; F_coarse attends to
# the word features (the single-branch aligner of VLT / CRIS-style methods)
# and the decoder predicts one mask map, without the response-mask /
# coefficient split of WGDA.
_base_ = ['../asda_vitb_refcoco.py']
model = dict(decode_head=dict(dual_branch=False, use_words=True))
