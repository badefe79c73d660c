"""Text-blind baselines of a config's test set, scored with RefSegMetric.

``python tools/analysis_tools/chance_baseline.py CONFIG [--out FILE.json]``

For every expression of the config's test dataset (a ``RefCOCODataset`` or a
``ConcatDataset`` of them) the baselines predict, without reading the text:

- ``all objects``: the union of every annotated object of the image (what a
  model that segments "the objects" but cannot ground words would give);
- ``random object``: one annotated object of the image drawn uniformly at
  random (a model that picks an object but ignores the words);

and the same :class:`~mmris.evaluation.RefSegMetric` as ``tools/test.py``
scores them (oIoU, mIoU, Prec@0.5..0.9 at the original resolution).
"""
import argparse
import copy
import json
import random
from typing import Dict, List

import mmris  # noqa: F401  (compatibility fixes before mmseg is imported)
import numpy as np
import torch
from mmengine.config import Config, DictAction

from mmris.datasets import RefCOCODataset, load_instances, load_ref_mask
from mmris.evaluation import RefSegMetric
from mmris.utils import register_all_modules

BASELINES = ('all objects', 'random object')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Text-blind chance baselines with the real metric')
    parser.add_argument('config', help='config whose test set is scored')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random-object baseline')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args()


def refer_datasets(dataset_cfg: dict) -> List[RefCOCODataset]:
    """Build the REFER datasets of a (Concat)Dataset config, no pipeline."""
    if dataset_cfg['type'] == 'ConcatDataset':
        return [d for sub in dataset_cfg['datasets']
                for d in refer_datasets(sub)]
    if dataset_cfg['type'] != 'RefCOCODataset':
        raise ValueError('chance_baseline.py needs RefCOCODataset test sets, '
                         f'got {dataset_cfg["type"]}')
    cfg = copy.deepcopy(dict(dataset_cfg))
    cfg.pop('type')
    cfg['pipeline'] = []
    return [RefCOCODataset(**cfg)]


def score(datasets: List[RefCOCODataset], seed: int) -> Dict[str, dict]:
    """Metrics of every baseline on the datasets."""
    rng = random.Random(seed)
    metrics = {name: RefSegMetric() for name in BASELINES}
    for dataset in datasets:
        coco = load_instances(dataset.ann_file)
        objects_of: Dict[int, list] = {}
        for ann in coco['annotations'].values():
            objects_of.setdefault(ann['image_id'], []).append(ann)
        for idx in range(len(dataset)):
            info = dataset.get_data_info(idx)
            image = coco['images'][info['img_id']]
            height, width = image['height'], image['width']
            gt = load_ref_mask(info['ref_mask']).astype(bool)
            masks = [
                load_ref_mask(
                    dict(segmentation=ann['segmentation'], height=height,
                         width=width)).astype(bool)
                for ann in objects_of[info['img_id']]
            ]
            preds = {
                'all objects': np.any(masks, axis=0),
                'random object': masks[rng.randrange(len(masks))],
            }
            for name, pred in preds.items():
                sample = dict(
                    pred_sem_seg=dict(data=torch.from_numpy(pred)[None]),
                    gt_sem_seg=dict(data=torch.from_numpy(gt)[None]),
                    split=info['split'],
                    ref_id=info['ref_id'],
                    sent_id=info['sent_id'])
                metrics[name].process({}, [sample])
    return {
        name: metric.evaluate(len(metric.results))
        for name, metric in metrics.items()
    }


def main() -> None:
    args = parse_args()
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    results = score(refer_datasets(cfg.test_dataloader.dataset), args.seed)
    for name, values in results.items():
        print(f'{name:>14}: ' + '  '.join(f'{k} {v:.2f}'
                                          for k, v in values.items()))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results, f, indent=2)


if __name__ == '__main__':
    main()
