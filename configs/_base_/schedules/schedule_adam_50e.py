# CRIS recipe (Sec. 4.2 and the public code): Adam, lr 1e-4 with the
# backbone at 0.1x except CLIP's positional embeddings (text and attention
# pool, full lr), no weight decay, x0.1 at epoch 35 of 50, batch 64
# (8 GPUs x 8), mixed precision. AutoAmpOptimWrapper is AMP on a GPU and
# float32 on a machine without one.
optimizer = dict(type='Adam', lr=1e-4, weight_decay=0.0)
optim_wrapper = dict(
    type='AutoAmpOptimWrapper',
    # a handful of parameter groups, not one per tensor (issue 12)
    constructor='GroupedOptimWrapperConstructor',
    loss_scale='dynamic',
    optimizer=optimizer,
    paramwise_cfg=dict(
        custom_keys={
            'backbone': dict(lr_mult=0.1),
            'positional_embedding': dict(lr_mult=1.0),
        }))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[35], gamma=0.1)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# the paper's total batch: with another number of GPUs or samples per GPU,
# `--cfg-options auto_scale_lr.enable=True` scales the lr linearly
auto_scale_lr = dict(enable=False, base_batch_size=64)
