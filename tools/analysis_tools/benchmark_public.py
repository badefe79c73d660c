"""Time mmris beside the authors' public code, in one process.

    python tools/analysis_tools/benchmark_public.py {cris-r50,asda-vitb} \\
        --public-root PATH [--extra-path DIR ...] [--batch-size 2] \\
        [--repeats 5] [--device cpu|cuda] [--amp fp32|fp16|bf16] \\
        [--threads N] [--json PATH]

``--public-root`` is a checkout of the authors' code, kept outside this
repository (https://github.com/DerrickWang005/CRIS.pytorch for ``cris-r50``,
https://github.com/swagger-coder/ASDA for ``asda-vitb``); nothing of it is in
mmris: this tool imports it from that path and builds its model with random
weights at full size (the CLIP weights it would load are replaced by a
randomly initialised CLIP of the same architecture, built from its own CLIP
class). Its own dependencies (OpenAI's ``clip`` package for ASDA, ``loguru``
for CRIS) must be importable; ``--extra-path`` prepends folders to
``sys.path``. Public checkouts name their packages ``model`` / ``utils``, so
one public code is benchmarked per process.

The mmris model is built from the matching config like the runner does
(:mod:`mmris.utils.benchmark_utils`), the public one as its ``train.py``
does (its parameter groups and Adam). Per repeat, interleaved (so both see
the same machine load): one mmris train step
(``train_step(batch, optim_wrapper)``), one public train step (forward with
the public loss, backward, Adam step, as in its ``engine``), one mmris batch-1
inference (``test_step`` with post-processing to the original image size)
and one public batch-1 inference (forward, sigmoid, resize back to the
original size, threshold). One untimed warm-up round first. Prints the
medians and the ratio mmris / public of the time per step (below 1: mmris is
faster), with the CPU times beside the wall times.
"""
import argparse
import contextlib
import os
import os.path as osp
import sys
import time
from types import SimpleNamespace
from typing import Callable, Dict, List, Tuple
from unittest import mock

import numpy as np
import torch
import torch.nn.functional as F

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: method -> our config, the public repository, a file its checkout has.
METHODS = {
    'cris-r50':
    dict(
        config='configs/cris/cris_r50_8xb8-50e_refcoco-416x416.py',
        repo='https://github.com/DerrickWang005/CRIS.pytorch',
        marker='model/segmenter.py'),
    'asda-vitb':
    dict(
        config='configs/asda/asda_vitb_refcoco.py',
        repo='https://github.com/swagger-coder/ASDA',
        marker='model/model.py'),
}
_ORIGINAL_HW = (480, 640)
_TEXTS = ('the man on the left in a red shirt', 'zebra',
          'a red car parked near the big white building')
_THRESHOLD = 0.35


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('method', choices=sorted(METHODS))
    parser.add_argument('--public-root',
                        help='checkout of the authors\' code (outside the '
                        'repository)')
    parser.add_argument('--extra-path', nargs='*', default=[],
                        help='folders prepended to sys.path for the public '
                        'code\'s own dependencies')
    parser.add_argument('--batch-size', type=int, default=2,
                        help='training batch (inference is batch 1)')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--amp', choices=('fp32', 'fp16', 'bf16'),
                        default='fp32',
                        help='precision of both train steps (fp16 / bf16 '
                        'need a GPU)')
    parser.add_argument('--threads', type=int)
    parser.add_argument('--json', help='also write the result here')
    args = parser.parse_args(argv)
    try:
        check_public_root(args.public_root, args.method)
    except (ValueError, FileNotFoundError) as e:
        parser.error(str(e))
    if args.batch_size < 1 or args.repeats < 1:
        parser.error('--batch-size and --repeats must be >= 1')
    from mmris.utils.benchmark_utils import check_amp_device
    try:
        check_amp_device(args.amp, args.device)
    except ValueError as e:
        parser.error(str(e))
    return args


def check_public_root(root, method: str) -> str:
    """The public checkout, checked: given, a folder, with the method's code
    and outside this repository.

    Raises:
        ValueError: ``root`` is missing or inside the repository.
        FileNotFoundError: It is not a checkout of the method's code.
    """
    info = METHODS[method]
    if not root:
        raise ValueError(
            f'--public-root is required: a checkout of {info["repo"]} '
            f'outside this repository (e.g. git clone {info["repo"]} '
            '/tmp/public), which this tool imports and never copies')
    root = osp.abspath(root)
    if not osp.isdir(root):
        raise FileNotFoundError(f'--public-root {root!r} is not a folder; '
                                f'expected a checkout of {info["repo"]}')
    if not osp.isfile(osp.join(root, info['marker'])):
        raise FileNotFoundError(
            f'--public-root {root!r} has no {info["marker"]}: not a checkout '
            f'of {info["repo"]}')
    if osp.commonpath([root, REPO]) == REPO:
        raise ValueError(f'--public-root {root!r} is inside the mmris '
                         'repository; keep the public code outside it')
    return root


def _import_public(root: str):
    """Put the checkout first on ``sys.path`` and check that its ``model``
    package is the one imported."""
    sys.path.insert(0, root)
    import model as public_model

    # a namespace package (no __init__.py) has a __path__ and no __file__
    where = [osp.abspath(p) for p in public_model.__path__]
    if osp.join(root, 'model') not in where:
        raise ImportError(f'"model" was imported from {where}, not from '
                          f'--public-root {root}')
    return public_model


def build_public_cris(root: str, device: str):
    """CRIS.pytorch's ``build_segmenter`` with a random CLIP RN50.

    Returns:
        tuple: (model, Adam optimizer over its parameter groups, step fn,
        inference fn); the step takes (images, ids, masks).
    """
    import yaml
    _import_public(root)
    from model.clip import CLIP
    with open(osp.join(root, 'config/refcoco/cris_r50.yaml')) as f:
        yaml_cfg = yaml.safe_load(f)
    cfg = SimpleNamespace(**yaml_cfg['TRAIN'])
    # CLIP RN50 (OpenAI's layout; CRIS's CLIP takes the text length 17)
    clip = CLIP(1024, 224, (3, 4, 6, 3), 64, None, 77, cfg.word_len, 49408,
                512, 8, 12)
    state = clip.state_dict()
    jit_model = mock.Mock()
    jit_model.eval.return_value.state_dict.return_value = state
    with mock.patch('torch.jit.load', return_value=jit_model):
        from model import build_segmenter
        model, param_list = build_segmenter(cfg)
    model = model.to(device)
    optimizer = torch.optim.Adam(
        param_list, lr=cfg.base_lr, weight_decay=cfg.weight_decay)

    def forward_loss(images, ids, masks):
        _, _, loss = model(images, ids, masks)
        return loss

    def infer(images, ids):
        return model(images, ids)

    return model, optimizer, forward_loss, infer


def build_public_asda(root: str, device: str):
    """swagger-coder/ASDA's ``Model`` as its ``train.py`` builds it (its
    defaults: ViT-B/16, tuned text tower, 16 queries, fusion 768) with a
    random CLIP, its dice + focal loss and its three Adam groups."""
    _import_public(root)
    import clip as openai_clip
    from clip.model import CLIP

    def random_clip(name, jit=False, device=None):
        if name != 'ViT-B/16':
            raise ValueError(f'only ViT-B/16 is built here, got {name}')
        clip = CLIP(embed_dim=512, image_resolution=224, vision_layers=12,
                    vision_width=768, vision_patch_size=16,
                    context_length=77, vocab_size=49408,
                    transformer_width=512, transformer_heads=8,
                    transformer_layers=12).float()
        clip.cuda = lambda *a, **k: clip.to(device_)  # train.py calls .cuda()
        return clip, None

    device_ = device
    with mock.patch.object(openai_clip, 'load', random_clip):
        from model.model import Model
        model = Model(clip_model='ViT-B/16', tunelang=True, num_query=16,
                      fusion_dim=768).to(device)
    from utils.utils import dice_loss, sigmoid_focal_loss
    lr = 0.000025
    visu = [p for n, p in model.named_parameters() if 'visumodel' in n]
    text = [p for n, p in model.named_parameters() if 'textmodel' in n]
    rest = [
        p for n, p in model.named_parameters()
        if 'visumodel' not in n and 'textmodel' not in n
    ]
    optimizer = torch.optim.Adam([{
        'params': rest,
        'lr': lr
    }, {
        'params': visu,
        'lr': lr / 10.
    }, {
        'params': text,
        'lr': lr / 10.
    }])

    def forward_loss(images, ids, masks):
        out = model(images, ids, ids != 0)
        target = F.interpolate(masks, out.shape[-2:], mode='nearest')
        return dice_loss(out, target) + sigmoid_focal_loss(out, target)

    def infer(images, ids):
        return model(images, ids, ids != 0)

    return model, optimizer, forward_loss, infer


_BUILDERS = {'cris-r50': build_public_cris, 'asda-vitb': build_public_asda}


def _autocast(device: str, amp: str):
    if amp == 'fp32':
        return contextlib.nullcontext()
    dtype = torch.float16 if amp == 'fp16' else torch.bfloat16
    return torch.autocast(device.split(':')[0], dtype=dtype)


def public_predict(infer: Callable, images: torch.Tensor, ids: torch.Tensor,
                   letterbox: Tuple[int, int, int, int],
                   original_hw: Tuple[int, int]) -> np.ndarray:
    """Public forward at batch 1 plus post-processing to the original
    size: sigmoid, resize to the network input, crop the letterbox padding,
    resize to the original image, threshold, copy to the host."""
    top, left, height, width = letterbox
    logits = infer(images, ids)
    prob = F.interpolate(
        torch.sigmoid(logits.float()),
        images.shape[-2:],
        mode='bilinear',
        align_corners=False)
    prob = prob[..., top:top + height, left:left + width]
    prob = F.interpolate(
        prob, original_hw, mode='bilinear', align_corners=False)
    return (prob > _THRESHOLD).cpu().numpy()


def main(argv=None) -> dict:
    args = parse_args(argv)
    root = check_public_root(args.public_root, args.method)
    for path in reversed(args.extra_path):
        sys.path.insert(0, osp.abspath(path))
    sys.path.insert(0, REPO)
    import mmris  # noqa: F401
    from mmris.utils.benchmark_utils import (
        build_bench_optim_wrapper, build_train_model, describe_environment,
        environment_info, load_bench_config, make_test_batch,
        make_train_batch, write_json, set_threads)
    set_threads(args.threads)
    device = args.device
    sync = (lambda: torch.cuda.synchronize(device)) if device.startswith(
        'cuda') else (lambda: None)

    # mmris, as the runner builds it
    cfg = load_bench_config(osp.join(REPO, METHODS[args.method]['config']))
    ours = build_train_model(cfg, device)
    wrapper = build_bench_optim_wrapper(ours, cfg, args.amp, device)
    train_batch = make_train_batch(cfg, args.batch_size, _ORIGINAL_HW,
                                   _TEXTS)
    test_batch = make_test_batch(cfg, 1, _ORIGINAL_HW, _TEXTS)
    input_hw = tuple(test_batch['data_samples'][0].img_shape)

    # the public code, from --public-root (its working directory: its
    # modules read files relative to it)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        public, optimizer, forward_loss, infer = _BUILDERS[args.method](
            root, device)
    finally:
        os.chdir(cwd)
    scaler = torch.cuda.amp.GradScaler() if args.amp == 'fp16' else None

    # the same expressions (mmris's CLIP tokenizer = OpenAI's BPE) and
    # random normalised images at the input size for the public code
    ids, _ = ours.backbone.tokenizer(
        [_TEXTS[i % len(_TEXTS)] for i in range(args.batch_size)])
    ids = ids.to(device)
    gen = torch.Generator().manual_seed(0)
    images = torch.randn(args.batch_size, 3, *input_hw, generator=gen)
    images = images.to(device)
    masks = torch.zeros(args.batch_size, 1, *input_hw, device=device)
    masks[..., input_hw[0] // 4:input_hw[0] // 2,
          input_hw[1] // 4:input_hw[1] // 2] = 1
    scale = min(input_hw[0] / _ORIGINAL_HW[0], input_hw[1] / _ORIGINAL_HW[1])
    content = (round(_ORIGINAL_HW[0] * scale), round(_ORIGINAL_HW[1] * scale))
    top = (input_hw[0] - content[0]) // 2
    left = (input_hw[1] - content[1]) // 2
    letterbox = (top, left, *content)

    def ours_train():
        ours.train()
        wrapper_loss = ours.train_step(train_batch, wrapper)['loss']
        return float(wrapper_loss.detach())

    def public_train():
        public.train()
        with _autocast(device, args.amp):
            loss = forward_loss(images, ids, masks)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    def ours_infer():
        ours.eval()
        with torch.no_grad():
            out = ours.test_step(test_batch)
        return tuple(out[0].pred_sem_seg.shape)

    def public_infer():
        public.eval()
        with torch.no_grad():
            out = public_predict(infer, images[:1], ids[:1], letterbox,
                                 _ORIGINAL_HW)
        return tuple(out.shape[-2:])

    steps = dict(
        ours_train=ours_train,
        public_train=public_train,
        ours_infer=ours_infer,
        public_infer=public_infer)
    wall: Dict[str, List[float]] = {k: [] for k in steps}
    cpu: Dict[str, List[float]] = {k: [] for k in steps}
    outputs = {}
    for repeat in range(args.repeats + 1):  # round 0: warm-up
        for name, fn in steps.items():
            sync()
            start, cpu_start = time.perf_counter(), time.process_time()
            outputs[name] = fn()
            sync()
            if repeat:
                wall[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - cpu_start)
        if repeat:  # progress, for long runs on a busy machine
            print(f'round {repeat}/{args.repeats}: ' + ', '.join(
                f'{k} {wall[k][-1]:.2f} s ({cpu[k][-1]:.2f} s CPU)'
                for k in steps),
                  flush=True)
    if outputs['ours_infer'] != outputs['public_infer'] or \
            outputs['ours_infer'] != _ORIGINAL_HW:
        raise RuntimeError(f'predictions of different sizes: mmris '
                           f'{outputs["ours_infer"]}, public '
                           f'{outputs["public_infer"]}')
    med = {k: float(np.median(v)) for k, v in wall.items()}
    med_cpu = {k: float(np.median(v)) for k, v in cpu.items()}
    env = environment_info(device)
    result = dict(
        method=args.method,
        public_root=root,
        config=METHODS[args.method]['config'],
        batch_size=args.batch_size,
        amp=args.amp,
        input_hw=list(input_hw),
        original_hw=list(_ORIGINAL_HW),
        repeats=args.repeats,
        median_s=med,
        median_cpu_s=med_cpu,
        wall_s=wall,
        train_ratio=med['ours_train'] / med['public_train'],
        train_cpu_ratio=med_cpu['ours_train'] / med_cpu['public_train'],
        infer_ratio=med['ours_infer'] / med['public_infer'],
        infer_cpu_ratio=med_cpu['ours_infer'] / med_cpu['public_infer'],
        last_loss=dict(ours=outputs['ours_train'],
                       public=outputs['public_train']),
        env=env)
    print(f'{args.method}: mmris {METHODS[args.method]["config"]} vs '
          f'{METHODS[args.method]["repo"]} at {root}; input {input_hw}, '
          f'train batch {args.batch_size} ({args.amp}), inference batch 1 '
          f'to {_ORIGINAL_HW}; median of {args.repeats} interleaved rounds '
          f'after 1 warm-up round')
    print(describe_environment(env))
    for kind, what in (('train', 'train step'), ('infer', 'batch-1 '
                                                           'inference')):
        print(f'{what}: mmris {med["ours_" + kind]:.3f} s '
              f'({med_cpu["ours_" + kind]:.3f} s CPU), public '
              f'{med["public_" + kind]:.3f} s '
              f'({med_cpu["public_" + kind]:.3f} s CPU); ratio mmris/public '
              f'{result[kind + "_ratio"]:.2f}x wall, '
              f'{result[kind + "_cpu_ratio"]:.2f}x CPU')
    write_json(args.json, result)
    return result


if __name__ == '__main__':
    main()
