"""Training-pipeline samples/s per data-loader worker, against the floor.

    python tools/analysis_tools/benchmark_pipeline.py [CONFIG ...] \\
        [--num-images 8] [--samples 100] [--rounds 5] [--json out.json]

For each config (default: the main full-size config of every method), the
training pipeline of ``train_dataloader.dataset`` runs on synthetic 640x480
JPEGs (written to a temporary folder, with a polygon mask and an expression
each, as the dataset's data infos hold them) in this one process with one
thread (``cv2.setNumThreads(0)``, ``OMP_NUM_THREADS=1``,
``torch.set_num_threads(1)``), as one data-loader worker runs it. The
floor is what no pipeline avoids: read the file, decode it
(``cv2.imdecode``) and resize it bilinearly to the letterbox size of the
config's input. The rows run interleaved, ``--samples`` samples each per
round, so that load on the machine hits them alike; the figures are
medians over ``--rounds`` rounds, the ratio the median of the per-round
ratios. A ``(separate transforms)`` row follows every pipeline with
``RandomAffineLetterbox``: the same augmentation as the transforms it
replaces (flip, HSV, letterbox, affine), for comparison. Also printed:
the mean time of each transform type.
"""
import os

os.environ.setdefault('OMP_NUM_THREADS', '1')

import argparse  # noqa: E402
import json  # noqa: E402
import os.path as osp  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from typing import Callable, Dict, List, Sequence, Tuple  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

import mmris  # noqa: E402,F401
from mmris.datasets.transforms import letterbox_geometry  # noqa: E402
from mmris.registry import TRANSFORMS  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIGS = (
    'configs/cris/cris_r50_8xb8-50e_refcoco-416x416.py',
    'configs/asda/asda_vitb_refcoco.py',
    'configs/shared_ris/shared-ris_beit3-b_8xb14-35e_refcoco-480x480.py',
    'configs/risclip/risclip-b_stage1_4xb8-60e_refcoco-640x640.py',
)
IMG_H, IMG_W = 480, 640
TEXT = 'the man on the left in a red shirt'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='*', default=list(DEFAULT_CONFIGS),
                        help='configs (default: one per method)')
    parser.add_argument('--num-images', type=int, default=8,
                        help='synthetic JPEGs to cycle through')
    parser.add_argument('--samples', type=int, default=100,
                        help='samples per row and round')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=5,
                        help='untimed samples per row before the rounds')
    parser.add_argument('--no-separate', action='store_true',
                        help='skip the "(separate transforms)" rows')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--json', help='also write the results here')
    args = parser.parse_args()
    for name in ('num_images', 'samples', 'rounds'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.warmup < 0:
        parser.error('--warmup must be >= 0')
    return args


def write_images(folder: str, count: int, seed: int) -> List[dict]:
    """Write ``count`` 640x480 JPEGs and return their data infos.

    Each image is smooth colour gradients, blurred noise and a filled
    polygon (the referred object, also given as a COCO polygon), JPEG
    quality 90, so decoding costs what a photo of that size costs.
    """
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:IMG_H, 0:IMG_W].astype(np.float32)
    infos = []
    for i in range(count):
        base = np.stack([xs * rng.uniform(0.1, 0.5), ys * rng.uniform(
            0.1, 0.5), (xs + ys) * rng.uniform(0.1, 0.3)], -1) % 256
        noise = rng.normal(0, 25, (IMG_H, IMG_W, 3)).astype(np.float32)
        img = np.clip(base + cv2.GaussianBlur(noise, (0, 0), 1.5), 0, 255)
        img = img.astype(np.uint8)
        cx, cy = rng.uniform(150, 490), rng.uniform(120, 360)
        angles = np.sort(rng.uniform(0, 2 * np.pi, 12))
        radii = rng.uniform(40, 110, 12)
        poly = np.stack([cx + radii * np.cos(angles),
                         cy + radii * np.sin(angles)], -1)
        cv2.fillPoly(img, [poly.round().astype(np.int32)],
                     tuple(int(v) for v in rng.integers(0, 256, 3)))
        path = osp.join(folder, f'{i:04d}.jpg')
        cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        infos.append(
            dict(
                img_path=path,
                text=TEXT,
                ref_id=i,
                sent_id=i,
                ann_id=i,
                img_id=i,
                split='train',
                ref_mask=dict(
                    segmentation=[poly.reshape(-1).tolist()],
                    height=IMG_H,
                    width=IMG_W),
                reduce_zero_label=False))
    return infos


def train_pipeline(cfg_path: str) -> Tuple[list, Tuple[int, int]]:
    """The config's training pipeline and input size ``(h, w)``."""
    path = cfg_path if osp.isfile(cfg_path) else osp.join(REPO, cfg_path)
    cfg = Config.fromfile(path)
    steps = list(cfg.train_dataloader.dataset.pipeline)
    size = None
    for step in steps:
        if 'scale' in step and step['type'] in ('LetterboxResize',
                                                'RandomAffineLetterbox'):
            scale = step['scale']
            size = (scale, scale) if isinstance(scale, int) else tuple(scale)
    if size is None:
        raise ValueError(f'{cfg_path}: no LetterboxResize or '
                         'RandomAffineLetterbox in the training pipeline')
    return steps, size


def separate_steps(steps: Sequence[dict]) -> List[dict]:
    """Each fused step as the separate transforms it replaces."""
    out = []
    for step in steps:
        if step['type'] != 'RandomAffineLetterbox':
            out.append(step)
            continue
        if step.get('flip_prob', 0.5) > 0:
            out.append(dict(type='RandomFlipText', prob=step.get(
                'flip_prob', 0.5)))
        hsv = step.get('hsv_gains')
        if hsv is not None:
            out.append(dict(type='RandomHSV', hgain=hsv[0], sgain=hsv[1],
                            vgain=hsv[2]))
        out += [
            dict(type='LetterboxResize', scale=step['scale'],
                 pad_val=step['pad_val']),
            dict(type='RandomAffine',
                 **{k: step[k] for k in ('max_rotate_degree',
                                         'max_translate_ratio',
                                         'scaling_ratio_range',
                                         'max_shear_degree') if k in step},
                 border_val=step['pad_val']),
        ]
    return out


def floor_fn(size: Tuple[int, int]) -> Callable[[dict], None]:
    """Read + decode + bilinear resize to the letterbox size of ``size``."""
    (new_h, new_w), _ = letterbox_geometry((IMG_H, IMG_W), size)

    def run(info: dict) -> None:
        with open(info['img_path'], 'rb') as f:
            buf = np.frombuffer(f.read(), np.uint8)
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_LINEAR)

    return run


class TimedPipeline:
    """Run transforms one by one, adding up the time of each type."""

    def __init__(self, steps: Sequence[dict]) -> None:
        self.transforms = [TRANSFORMS.build(dict(s)) for s in steps]
        self.names = [type(t).__name__ for t in self.transforms]
        self.seconds: Dict[str, float] = defaultdict(float)
        self.calls = 0

    def __call__(self, info: dict) -> None:
        results = dict(info, seg_fields=[])
        for name, transform in zip(self.names, self.transforms):
            start = time.perf_counter()
            results = transform(results)
            self.seconds[name] += time.perf_counter() - start
            if results is None:
                raise RuntimeError(f'{name} dropped sample {info}')
        self.calls += 1


def run(args: argparse.Namespace) -> dict:
    """Time every row; return the JSON-able results."""
    cv2.setNumThreads(0)
    torch.set_num_threads(1)
    init_default_scope('mmris')
    np.random.seed(args.seed)
    rows: Dict[str, Callable[[dict], None]] = {}
    meta: Dict[str, dict] = {}
    for cfg_path in args.configs:
        steps, size = train_pipeline(cfg_path)
        floor_name = f'floor {size[0]}x{size[1]}'
        if floor_name not in rows:
            rows[floor_name] = floor_fn(size)
            meta[floor_name] = dict(floor=floor_name, config=None,
                                    transforms=['read', 'imdecode',
                                                'resize'])
        method = osp.basename(osp.dirname(osp.abspath(cfg_path)))
        variants = [(method, steps)]
        if (any(s['type'] == 'RandomAffineLetterbox' for s in steps)
                and not args.no_separate):
            variants.append((f'{method} (separate transforms)',
                             separate_steps(steps)))
        for name, variant in variants:
            rows[name] = TimedPipeline(variant)
            meta[name] = dict(floor=floor_name, config=cfg_path,
                              transforms=rows[name].names)

    with tempfile.TemporaryDirectory() as folder:
        infos = write_images(folder, args.num_images, args.seed)
        for fn in rows.values():
            for i in range(args.warmup):
                fn(infos[i % len(infos)])
        for fn in rows.values():
            if isinstance(fn, TimedPipeline):
                fn.seconds.clear()
                fn.calls = 0
        per_round: Dict[str, List[float]] = defaultdict(list)
        for _ in range(args.rounds):
            for name, fn in rows.items():
                start = time.perf_counter()
                for i in range(args.samples):
                    fn(infos[i % len(infos)])
                per_round[name].append(
                    (time.perf_counter() - start) / args.samples)

    results = {}
    for name, times in per_round.items():
        floor = per_round[meta[name]['floor']]
        ratios = [t / f for t, f in zip(times, floor)]
        ms = 1e3 * float(np.median(times))
        entry = dict(meta[name], ms_per_sample=ms,
                     samples_per_s=1e3 / ms,
                     ratio_to_floor=float(np.median(ratios)),
                     ms_per_round=[1e3 * t for t in times])
        fn = rows[name]
        if isinstance(fn, TimedPipeline) and fn.calls:
            entry['ms_per_transform'] = {
                k: 1e3 * v / fn.calls for k, v in fn.seconds.items()}
        results[name] = entry
    return dict(rows=results, image_size=[IMG_H, IMG_W],
                samples=args.samples, rounds=args.rounds,
                num_images=args.num_images, threads=1,
                opencv=cv2.__version__)


def main() -> None:
    args = parse_args()
    out = run(args)
    print(f'training pipelines, one worker (1 thread), {IMG_W}x{IMG_H} JPEG; '
          f'medians of {args.rounds} rounds x {args.samples} samples')
    print(f'| {"pipeline":36s} | ms/sample | samples/s | x floor |')
    print(f'| {"-" * 36} | --------- | --------- | ------- |')
    for name, row in out['rows'].items():
        print(f'| {name:36s} | {row["ms_per_sample"]:9.2f} | '
              f'{row["samples_per_s"]:9.0f} | {row["ratio_to_floor"]:6.2f}x |')
    for name, row in out['rows'].items():
        if 'ms_per_transform' in row:
            parts = ', '.join(f'{k} {v:.2f}'
                              for k, v in row['ms_per_transform'].items())
            print(f'{name}: ms per transform: {parts}')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=1)


if __name__ == '__main__':
    main()
