"""Training-pipeline samples/s per data-loader worker, against the floor.

    python tools/analysis_tools/benchmark_pipeline.py [CONFIG ...] \\
        [--num-images 8] [--img-dir DIR] [--samples 100] [--rounds 5] \\
        [--json out.json]

For each config (default: the main full-size config of every method), the
training pipeline of ``train_dataloader.dataset`` runs on synthetic 640x480
JPEGs of COCO's mean file size (written to a temporary folder, with a
polygon mask and an expression each, as the dataset's data infos hold them;
``--img-dir`` takes real JPEGs instead) in this one process with one
thread (``cv2.setNumThreads(0)``, ``OMP_NUM_THREADS=1``,
``torch.set_num_threads(1)``), as one data-loader worker runs it. The
floor is what no pipeline avoids: read the file, decode it
(``cv2.imdecode``) and resize it bilinearly to the letterbox size of the
config's input. The rows run interleaved sample by sample (every row
runs a sample before any row runs the next), ``--samples`` samples a
round, so that load on the machine hits them alike; the figures are
medians over ``--rounds`` rounds, the ratio the median of the per-round
ratios (so it need not equal the quotient of two medians). A ``(separate
transforms)`` row follows every pipeline with ``RandomAffineLetterbox``:
the same augmentation as the transforms it replaces (flip, HSV, letterbox,
affine), for comparison. Also printed: the mean time of each transform
type.
"""
import os

os.environ.setdefault('OMP_NUM_THREADS', '1')

import argparse  # noqa: E402
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
from mmris.utils.benchmark_report import write_json  # noqa: E402

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
                        help='JPEGs to cycle through')
    parser.add_argument('--img-dir',
                        help='time on the JPEGs of this folder (e.g. '
                        'data/coco/train2014) instead of synthetic ones')
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


def _photo_like(rng: np.random.Generator) -> np.ndarray:
    """A (480, 640, 3) uint8 texture with a photo's spectrum.

    Noise at seven octaves of equal amplitude (an amplitude falling as
    1 / frequency, as in natural images): at JPEG quality 90 it takes about
    160 KB, what a COCO train2014 image takes on average (13.5 GB for
    82,783 images), so that decoding costs what a RefCOCO image costs.
    """
    img = np.full((IMG_H, IMG_W, 3), 128, np.float32)
    for octave in range(7):
        h, w = max(2, IMG_H >> octave), max(2, IMG_W >> octave)
        noise = rng.normal(0, 14, (h, w, 3)).astype(np.float32)
        img += cv2.resize(noise, (IMG_W, IMG_H),
                          interpolation=cv2.INTER_CUBIC)
    return np.clip(img, 0, 255).astype(np.uint8)


def _polygon(rng: np.random.Generator, height: int,
             width: int) -> np.ndarray:
    """A random 12-vertex star-shaped polygon inside the image, (12, 2)."""
    cx = rng.uniform(0.25, 0.75) * width
    cy = rng.uniform(0.25, 0.75) * height
    angles = np.sort(rng.uniform(0, 2 * np.pi, 12))
    radii = rng.uniform(0.08, 0.23, 12) * min(height, width)
    return np.stack([cx + radii * np.cos(angles),
                     cy + radii * np.sin(angles)], -1)


def _info(path: str, poly: np.ndarray, height: int, width: int,
          index: int) -> dict:
    """A data info as ``RefCOCODataset`` builds it."""
    return dict(
        img_path=path,
        text=TEXT,
        ref_id=index,
        sent_id=index,
        ann_id=index,
        img_id=index,
        split='train',
        ref_mask=dict(
            segmentation=[poly.reshape(-1).tolist()],
            height=height,
            width=width),
        reduce_zero_label=False)


def write_images(folder: str, count: int, seed: int) -> List[dict]:
    """Write ``count`` 640x480 JPEGs and return their data infos.

    Each image is a photo-like texture (:func:`_photo_like`) with a filled
    polygon (the referred object, also given as a COCO polygon), JPEG
    quality 90.
    """
    rng = np.random.default_rng(seed)
    infos = []
    for i in range(count):
        img = _photo_like(rng)
        poly = _polygon(rng, IMG_H, IMG_W)
        cv2.fillPoly(img, [poly.round().astype(np.int32)],
                     tuple(int(v) for v in rng.integers(0, 256, 3)))
        path = osp.join(folder, f'{i:04d}.jpg')
        cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        infos.append(_info(path, poly, IMG_H, IMG_W, i))
    return infos


def read_images(folder: str, count: int, seed: int) -> List[dict]:
    """Data infos of the first ``count`` JPEGs of ``folder`` (sorted).

    Each gets a random polygon as its referred object (the pipeline's cost
    does not depend on what the polygon covers).
    """
    names = sorted(n for n in os.listdir(folder)
                   if n.lower().endswith(('.jpg', '.jpeg')))[:count]
    if not names:
        raise FileNotFoundError(f'--img-dir {folder!r}: no .jpg / .jpeg '
                                'files')
    rng = np.random.default_rng(seed)
    infos = []
    for i, name in enumerate(names):
        path = osp.join(folder, name)
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise OSError(f'--img-dir: cannot decode {path!r}')
        height, width = img.shape[:2]
        infos.append(
            _info(path, _polygon(rng, height, width), height, width, i))
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

    def run(info: dict) -> None:
        with open(info['img_path'], 'rb') as f:
            buf = np.frombuffer(f.read(), np.uint8)
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        (new_h, new_w), _ = letterbox_geometry(img.shape[:2], size)
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
        if args.img_dir:
            infos = read_images(args.img_dir, args.num_images, args.seed)
        else:
            infos = write_images(folder, args.num_images, args.seed)
        jpeg_kb = float(
            np.mean([osp.getsize(i['img_path']) for i in infos])) / 1024
        for fn in rows.values():
            for i in range(args.warmup):
                fn(infos[i % len(infos)])
        for fn in rows.values():
            if isinstance(fn, TimedPipeline):
                fn.seconds.clear()
                fn.calls = 0
        per_round: Dict[str, List[float]] = defaultdict(list)
        for _ in range(args.rounds):
            spent: Dict[str, float] = defaultdict(float)
            for i in range(args.samples):
                # every row runs sample i before any row runs i + 1
                for name, fn in rows.items():
                    start = time.perf_counter()
                    fn(infos[i % len(infos)])
                    spent[name] += time.perf_counter() - start
            for name in rows:
                per_round[name].append(spent[name] / args.samples)

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
    return dict(rows=results,
                images=args.img_dir or 'synthetic 640x480',
                num_images=len(infos), mean_jpeg_kb=jpeg_kb,
                samples=args.samples, rounds=args.rounds, threads=1,
                opencv=cv2.__version__)


def main() -> None:
    args = parse_args()
    out = run(args)
    print(f'training pipelines, one worker (1 thread), {out["images"]} '
          f'JPEGs ({out["num_images"]}, mean {out["mean_jpeg_kb"]:.0f} KB); '
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
        write_json(args.json, out)


if __name__ == '__main__':
    main()
