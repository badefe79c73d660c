# RISCLIP-L stage 1 ("Locator") on RefCOCO (UNC), trained with FSDP
# (MMEngine's FlexibleRunner + FSDPStrategy; docs/speed.md): the recipe of
# risclip-l_stage1_4xb8-60e_refcoco-560x560.py with every adapted CLIP layer
# and every CFE module its own FSDP unit (frozen CLIP weights and trainable
# adapters share units: use_orig_params=True), bf16 autocast and activation
# checkpointing of both towers.
#
#   bash tools/dist_train.sh \
#       configs/risclip/fsdp/risclip-l_stage1_4xb8-60e_refcoco-560x560_fsdp.py 4
#
# Stage 2 (decoder only, small) then trains as usual from its last
# checkpoint (full state dict):
#
#   bash tools/dist_train.sh \
#       configs/risclip/risclip-l_stage2_4xb8-1e_refcoco-560x560.py 4 \
#       --cfg-options load_from=work_dirs/risclip-l_stage1_4xb8-60e_refcoco-560x560_fsdp/epoch_60.pth
_base_ = [
    '../risclip-l_stage1_4xb8-60e_refcoco-560x560.py',
    '../../_base_/strategies/fsdp.py'
]
model = dict(backbone=dict(with_cp=True))
strategy = dict(
    model_wrapper=dict(
        auto_wrap_policy=dict(
            block_names=('AdaptedCLIPBlock', 'CrossModalFeatureExtraction'))))
optim_wrapper = dict(use_fsdp=True)
