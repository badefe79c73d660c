# RISCLIP-B on the combined RefCOCO family, stage 2 of 2 ("Refiner", Sec. 3.5): the decoder alone is
# trained for 1 epoch in FP32 (Table A1) from stage 1's final checkpoint;
# everything else is frozen, batch norms of frozen parts in eval mode
# (StagedRefSegmentor). Stage 1: risclip-b_stage1_8xb12-60e_refcoco-family-640x640.py.
# tools/train_two_stage.py runs both and sets load_from.
_base_ = './risclip-b_stage1_8xb12-60e_refcoco-family-640x640.py'
model = dict(
    trainable=('decode_head.decoder', ),
    decode_head=dict(stage='refiner'))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    constructor='GroupedOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW', lr=5e-5, betas=(0.9, 0.999), weight_decay=5e-3),
    # frozen parameters are left out of the optimizer
    paramwise_cfg=dict(custom_keys=dict()))
max_epochs = 1
param_scheduler = [
    dict(
        type='PolyLR',
        power=0.9,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=max_epochs)
# the final stage-1 checkpoint (tools/train.py's default work dir)
load_from = 'work_dirs/risclip-b_stage1_8xb12-60e_refcoco-family-640x640/epoch_60.pth'
