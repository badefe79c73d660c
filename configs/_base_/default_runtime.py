# Runtime shared by every mmris config.
default_scope = 'mmris'
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo on machines without a GPU
    dist_cfg=dict(backend='nccl'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='Visualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # every epoch plus the last one, and a rolling mid-epoch checkpoint
    # every 1000 iterations on long epochs; --resume continues from the
    # latest (the same batch, data order and random draws as an
    # uninterrupted run: RISEpochBasedTrainLoop + ResumableSampler, which
    # tools/train.py uses for every epoch-based config)
    checkpoint=dict(
        type='RISCheckpointHook',
        by_epoch=True,
        interval=1,
        iter_interval=1000,
        max_keep_ckpts=3,
        save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # tools/test.py --show-dir turns drawing on
    visualization=dict(type='RefSegVisualizationHook', draw=False))

randomness = dict(seed=0)
