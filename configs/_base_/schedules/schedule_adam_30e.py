# ASDA recipe (Sec. 4.2): Adam, lr 5e-5 with both CLIP towers (the whole
# backbone) at lr / 10, 30 epochs, x0.1 at epochs 18 and 25, batch 28
# (2 GPUs x 14), mixed precision. AutoAmpOptimWrapper is AMP on a GPU and
# plain float32 on a machine without one, so the same config also trains
# with CPU processes (tools/dist_train.sh CONFIG 2 on gloo).
optimizer = dict(type='Adam', lr=5e-5, weight_decay=0.0)
optim_wrapper = dict(
    type='AutoAmpOptimWrapper',
    # a handful of parameter groups, not one per tensor (issue 12)
    constructor='GroupedOptimWrapperConstructor',
    loss_scale='dynamic',
    optimizer=optimizer,
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[18, 25], gamma=0.1)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# the paper's batch: 2 GPUs x 14 samples; --auto-scale-lr style scaling is
# off by default (enable it to keep lr / batch constant on other setups)
auto_scale_lr = dict(enable=False, base_batch_size=28)
