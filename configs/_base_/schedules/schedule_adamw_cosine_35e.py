# Shared-RIS recipe (Sec. IV-A): AdamW, betas (0.9, 0.98), weight decay 5e-4,
# lr 1e-4 for every parameter with cosine annealing over 35 epochs (no warmup
# or layer-wise decay is stated), gradient clipping at max-norm 1.0, batch
# 112 = 8 GPUs x 14, mixed precision on a GPU (float32 on a CPU).
optimizer = dict(
    type='AdamW', lr=1e-4, betas=(0.9, 0.98), weight_decay=5e-4)
optim_wrapper = dict(
    type='AutoAmpOptimWrapper',
    # a handful of parameter groups, not one per tensor (issue 12)
    constructor='GroupedOptimWrapperConstructor',
    loss_scale='dynamic',
    optimizer=optimizer,
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=35,
        eta_min=0.0,
        by_epoch=True,
        begin=0,
        end=35,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=35, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# with another number of GPUs or samples per GPU,
# `--cfg-options auto_scale_lr.enable=True` scales the lr linearly
auto_scale_lr = dict(enable=False, base_batch_size=112)
