# ASDA Table 2 (d) "(a) + AFS + SFA": the full neck (AFS + Scale-wise
# Feature Aggregator) with the word-free decoder of (a)-(c).
_base_ = ['../asda_vitb_refcoco.py']
model = dict(decode_head=dict(dual_branch=False, use_words=False))
