# CRIS recipe (Sec. 4.2): Adam, lr 1e-4 (backbone x0.1), x0.1 at epoch 35 of
# 50, batch 64 (8 GPUs x 8), mixed precision.
optimizer = dict(type='Adam', lr=1e-4, weight_decay=0.0)
optim_wrapper = dict(
    type='AmpOptimWrapper',
    optimizer=optimizer,
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[35], gamma=0.1)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(enable=False, base_batch_size=64)
