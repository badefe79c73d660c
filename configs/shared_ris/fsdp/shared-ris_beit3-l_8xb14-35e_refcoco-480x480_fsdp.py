# Shared-RIS with BEiT-3 large on refcoco, trained with FSDP (MMEngine's
# FlexibleRunner + FSDPStrategy; docs/speed.md): the recipe of
# shared-ris_beit3-l_8xb14-35e_refcoco-480x480.py with every BEiT-3 layer its
# own FSDP unit, bf16 autocast where the GPU has it (AutoAmpOptimWrapper with
# the sharded loss scaler) and activation checkpointing of the encoder.
#
#   bash tools/dist_train.sh \
#       configs/shared_ris/fsdp/shared-ris_beit3-l_8xb14-35e_refcoco-480x480_fsdp.py 8
_base_ = [
    '../shared-ris_beit3-l_8xb14-35e_refcoco-480x480.py',
    '../../_base_/strategies/fsdp.py'
]
model = dict(
    backbone=dict(with_cp=True),
    # SyncBN in the decoder, as the DDP config's `sync_bn = 'torch'` (which
    # MMEngine's FSDPStrategy does not apply)
    decode_head=dict(norm_cfg=dict(type='SyncBN')))
strategy = dict(
    model_wrapper=dict(auto_wrap_policy=dict(block_names=('BEiT3Layer', ))))
optim_wrapper = dict(use_fsdp=True)
