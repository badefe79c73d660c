"""The ASDA card command with 2 CPU processes.

``bash tools/dist_train.sh configs/asda/asda_vitb_refcoco.py 2`` is what a
user runs on 2 GPUs. Here the same config file, unchanged, trains with two
CPU processes (torchrun + gloo) on generated REFER data; only
``--cfg-options`` make it small: a tiny random CLIP instead of ViT-B/16, a
64x64 input instead of 416x416, batch 2 per process, one epoch. The ASDA
pipeline (flip / HSV / letterbox / affine), model structure, optimizer,
schedule and AMP fallback are the config's own.
"""
import glob
import json
import math
import os.path as osp
import socket

from mmengine.config import Config

from e2e_utils import run_tool

CONFIG = 'configs/asda/asda_vitb_refcoco.py'
IMG = 64  # 4x4 tokens of 16x16 patches


def small_overrides(data_root: str) -> list:
    """``--cfg-options`` that shrink the main ASDA config for a CPU run.

    Pipeline indices: train 4 = LetterboxResize (see the config),
    val 1 = LetterboxResize (configs/_base_/datasets/refcoco.py).
    """
    clip = 'model.backbone.model_cfg'
    return [
        # a tiny CLIP with random weights: 12 visual layers of width 64 (the
        # neck taps layers 4-9 and 12), 12 text layers of width 64 (the
        # layer selection reads the text layer paired with each image layer)
        'model.backbone.pretrained=None',
        f'{clip}.embed_dim=64',
        f'{clip}.quick_gelu=True',
        f'{clip}.vision_cfg.image_size={IMG}',
        f'{clip}.vision_cfg.layers=12',
        f'{clip}.vision_cfg.width=64',
        f'{clip}.vision_cfg.head_width=32',
        f'{clip}.vision_cfg.patch_size=16',
        f'{clip}.text_cfg.context_length=77',
        f'{clip}.text_cfg.vocab_size=49408',
        f'{clip}.text_cfg.width=64',
        f'{clip}.text_cfg.heads=2',
        f'{clip}.text_cfg.layers=12',
        f'model.backbone.img_size={IMG}',
        'model.neck.in_channels=64',
        'model.neck.text_dims=64',
        'model.neck.out_channels=64',
        'model.neck.fusion_channels=64',
        'model.decode_head.in_channels=64',
        'model.decode_head.word_dims=64',
        'model.decode_head.ffn_dims=64',
        'model.decode_head.wcg_ffn_dims=64',
        f'model.decode_head.feat_size={IMG // 16}',
        'model.decode_head.decoder_channels=16',
        f'model.data_preprocessor.size=({IMG},{IMG})',
        f'train_dataloader.dataset.pipeline.2.scale=({IMG},{IMG})',
        f'val_dataloader.dataset.pipeline.1.scale=({IMG},{IMG})',
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.batch_size=2',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=1',
        'default_hooks.logger.interval=1',
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_asda_card_command_two_cpu_processes(refer_data_root, tmp_path):
    work_dir = tmp_path / 'asda'
    proc = run_tool(
        ['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir',
         str(work_dir), '--cfg-options'] + small_overrides(refer_data_root),
        env={
            'PORT': str(_free_port()),
            'CUDA_VISIBLE_DEVICES': ''
        },
        timeout=900)
    log = proc.stdout + proc.stderr

    # 2 processes on gloo, AMP fell back to float32 on the CPU
    assert osp.isfile(work_dir / 'epoch_1.pth')
    assert 'gloo' in log
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's name for the world size
    assert 'AutoAmpOptimWrapper: no GPU' in log

    # the run used the config file itself: recipe and augmentation intact
    (dumped, ) = glob.glob(str(work_dir / '*.py'))
    cfg = Config.fromfile(dumped)
    assert [t.type for t in cfg.train_dataloader.dataset.pipeline] == [
        'LoadRefImageFromFile', 'LoadRefMask', 'RandomAffineLetterbox',
        'PackRefSegInputs'
    ]
    assert tuple(cfg.train_dataloader.dataset.pipeline[2].hsv_gains) == (
        0.0, 0.0, 0.5)
    assert cfg.optim_wrapper.optimizer.lr == 5e-5
    assert cfg.model.neck.selection == 'straight_through'
    assert cfg.model.decode_head.dual_branch

    # it trained (28 sentences / (2 processes x 2) = 7 iterations) with the
    # backbone at lr / 10, and validated on the val split
    scalars = sorted(glob.glob(str(work_dir / '*' / 'vis_data' /
                                   'scalars.json')))
    assert scalars
    lines = [json.loads(line) for line in open(scalars[-1])]
    train = [line for line in lines if 'loss' in line]
    assert len(train) == 7
    for line in train:
        assert {'loss_focal', 'loss_dice'} <= set(line)
        assert math.isfinite(line['loss'])
    # 'lr' is the first parameter group's: the backbone's, at lr / 10
    assert train[0]['base_lr'] == 5e-5
    assert train[0]['lr'] == 5e-6
    val = [line for line in lines if 'mIoU' in line]
    assert len(val) == 1 and 0 <= val[0]['mIoU'] <= 100
