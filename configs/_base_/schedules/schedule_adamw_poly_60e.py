# RISCLIP stage-1 recipe (App. A.1, Table A1): AdamW (0.9, 0.999), lr 5e-5,
# weight decay 5e-3, polynomial decay (power 0.9 per iteration, the LAVT
# convention, A18; no warmup is stated), 60 epochs, BF16 autocast.
# AutoAmpOptimWrapper is bf16 AMP on a GPU and float32 on a machine without
# one. Only parameters with requires_grad reach the optimizer: a non-empty
# paramwise_cfg makes MMEngine's constructor skip frozen parameters (CLIP's
# weights; the decoder in stage 1).
optimizer = dict(
    type='AdamW', lr=5e-5, betas=(0.9, 0.999), weight_decay=5e-3)
optim_wrapper = dict(
    type='AutoAmpOptimWrapper',
    # a handful of parameter groups, not one per tensor (issue 12)
    constructor='GroupedOptimWrapperConstructor',
    dtype='bfloat16',
    optimizer=optimizer,
    paramwise_cfg=dict(custom_keys=dict()))
max_epochs = 60
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
train_cfg = dict(
    type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=32)
