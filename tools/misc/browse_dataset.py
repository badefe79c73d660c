"""Draw samples of a dataset as the model sees them, to check a pipeline.

    python tools/misc/browse_dataset.py CONFIG [--phase train|val|test] \\
        [--num 20] [--output-dir browse/] [--cfg-options ...]

Builds the dataset of ``{phase}_dataloader`` with its pipeline (augmentation
included for ``train``), and for the first ``--num`` samples (``--shuffle``
for random ones) draws the image after the pipeline with the ground-truth
mask (dashed contour) and the expression (after any text augmentation,
e.g. a flip that swaps "left" and "right") in a band under it, to
``output-dir/{index}_{ref_id}_{sent_id}.png``. Works with mmcv-lite
(mmseg's browse_dataset.py imports compiled mmcv ops).
"""
import argparse
import os
import os.path as osp

import mmris  # noqa: F401
import cv2
import mmcv
import numpy as np
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

from mmris.apis.inference import resolve_config
from mmris.registry import DATASETS
from mmris.utils import check_cfg_option_keys, register_all_modules
from mmris.visualization import draw_ref_seg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file or name under configs/')
    parser.add_argument('--phase', default='train',
                        choices=['train', 'val', 'test'])
    parser.add_argument('--num', type=int, default=20)
    parser.add_argument('--shuffle', action='store_true')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--output-dir', default='browse_dataset')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()

    register_all_modules(init_default_scope=False)
    path = resolve_config(args.config)
    cfg = Config.fromfile(path)
    if args.cfg_options:
        check_cfg_option_keys(cfg, args.cfg_options, path)
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmris'))
    loader = cfg.get(f'{args.phase}_dataloader')
    if not loader:
        raise SystemExit(f'{path} has no {args.phase}_dataloader')
    dataset = DATASETS.build(loader.dataset)
    indices = np.arange(len(dataset))
    if args.shuffle:
        np.random.default_rng(args.seed).shuffle(indices)
    os.makedirs(args.output_dir, exist_ok=True)
    written = 0
    for idx in indices[:args.num]:
        packed = dataset[int(idx)]
        sample = packed['data_samples']
        image = packed['inputs'].permute(1, 2, 0).numpy()  # BGR uint8
        gt = None
        if 'gt_sem_seg' in sample:
            gt = sample.gt_sem_seg.data[0].numpy() > 0
            if gt.shape != image.shape[:2]:  # test pipelines: original size
                gt = cv2.resize(gt.astype(np.uint8),
                                (image.shape[1], image.shape[0]),
                                interpolation=cv2.INTER_NEAREST) > 0
        text = sample.get('text', '')
        drawing = draw_ref_seg(image, None, gt, text=f'[{idx}] {text}')
        name = (f'{idx}_{sample.get("ref_id", "x")}_'
                f'{sample.get("sent_id", "x")}')
        mmcv.imwrite(drawing, osp.join(args.output_dir, f'{name}.png'))
        written += 1
    print(f'{written} samples of the {args.phase} set ({len(dataset)} in '
          f'all) drawn to {osp.abspath(args.output_dir)}')


if __name__ == '__main__':
    main()
