"""Referring-segmentation metric: overall IoU, mean IoU and Prec@X.

The protocol follows LAVT / CRIS / ASDA: every expression is one sample, the
binary prediction and the ground-truth mask are compared at the original image
resolution, and

* ``oIoU = sum(I) / sum(U)`` (overall, or cumulative, IoU),
* ``mIoU = mean(I / U)`` (mean of per-expression IoU, the number CRIS and ASDA
  report as "IoU"),
* ``Prec@X`` = fraction of expressions whose IoU is *strictly* greater than X,

all in percent. Several splits (e.g. ``refcoco_val``, ``refcoco_testA``) can be
evaluated in one run; they are told apart by the ``split`` metainfo key.
"""
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
import torch
from mmengine.dist import get_dist_info, is_main_process
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger, print_log
from mmengine.structures import BaseDataElement
from prettytable import PrettyTable

from mmris.registry import METRICS

__all__ = ['RefSegMetric', 'metrics_from_records']

#: Split name used when a sample carries no ``split`` metainfo.
DEFAULT_SPLIT = 'default'

SampleType = Union[dict, BaseDataElement]


def _get_meta(sample: SampleType, key: str, default: Any = None) -> Any:
    """Read ``key`` from a data sample given as a dict or a data element."""
    return sample.get(key, default)


def _get_mask(sample: SampleType, field: str) -> Optional[torch.Tensor]:
    """Return ``sample.<field>.data`` as a tensor, or None when absent."""
    if isinstance(sample, BaseDataElement):
        pixel_data = sample.get(field, None)
        return None if pixel_data is None else pixel_data.data
    pixel_data = sample.get(field, None)
    if pixel_data is None:
        return None
    data = pixel_data['data'] if isinstance(pixel_data, dict) \
        else pixel_data.data
    return data if isinstance(data, torch.Tensor) else torch.as_tensor(data)


def _to_builtin(value: Any) -> Any:
    """Convert numpy / torch scalars to JSON-serialisable Python objects."""
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


#: Tensor dtypes counted through numpy views on the CPU (others: torch).
_NUMPY_DTYPES = (torch.bool, torch.uint8, torch.int8, torch.int16,
                 torch.int32, torch.int64, torch.float16, torch.float32,
                 torch.float64)


def _binary_numpy(mask: np.ndarray) -> np.ndarray:
    """``mask > 0`` as a boolean array (a bool mask is used as is)."""
    return mask if mask.dtype == np.bool_ else np.greater(mask, 0)


def _count_numpy(pred: np.ndarray, gt: np.ndarray) -> Tuple[int, int]:
    """``(|pred > 0 AND gt > 0|, |pred > 0 OR gt > 0|)`` of (H, W) arrays."""
    pred, gt = _binary_numpy(pred), _binary_numpy(gt)
    return (np.count_nonzero(np.logical_and(pred, gt)),
            np.count_nonzero(np.logical_or(pred, gt)))


def _count_torch(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """The same counts as a (2,) int64 tensor on the masks' device."""
    pred = pred if pred.dtype == torch.bool else pred > 0
    gt = gt if gt.dtype == torch.bool else gt > 0
    return torch.stack([
        torch.count_nonzero(pred & gt),
        torch.count_nonzero(pred | gt)
    ])


@METRICS.register_module()
class RefSegMetric(BaseMetric):
    """Overall IoU, mean IoU and precision at IoU thresholds for RIS.

    ``process`` reduces every sample to one small tuple ``(split, I, U)``
    where ``I = |pred AND gt|`` and ``U = |pred OR gt|`` are pixel counts at
    the original image resolution, so that ``BaseMetric.evaluate`` can gather
    the results across ranks and truncate the sampler's padding. Masks are
    binarised with ``> 0``. The counts are made where the prediction is:
    on the CPU through numpy views of the tensors (no copy), on a GPU with
    torch, one transfer of ``2 x batch`` integers per batch; only they (and
    the masks written for ``output_dir``) leave the device.

    Empty union: when both the prediction and the ground truth are empty,
    ``U = 0`` and the IoU of that sample is set to ``empty_iou``, by default
    1.0 because the prediction is perfect (ASDA's code also counts 1, CRIS's
    code divides by ``U + 1e-6`` and counts 0). The choice changes mIoU and
    Prec@X but never oIoU, because such a sample adds 0 to both sums. If the
    whole split has ``sum(U) = 0``, oIoU is ``100 * empty_iou``. An empty
    prediction against a non-empty mask, or the reverse, has IoU 0.

    When more than one split is present in the results, every key is
    prefixed with its split (``'refcoco_val/oIoU'``, ``'refcoco_testA/mIoU'``
    ...) and no un-prefixed key is returned; with one split (or no ``split``
    metainfo at all) the keys are plain: ``oIoU``, ``mIoU``, ``Prec@0.5`` ...
    Thresholds are formatted with ``'{:g}'``, e.g. ``Prec@0.75``.

    Args:
        prec_thresholds (Sequence[float]): IoU thresholds for ``Prec@X``;
            a sample counts when its IoU is strictly greater than X.
            Defaults to ``(0.5, 0.6, 0.7, 0.8, 0.9)``.
        empty_iou (float): IoU of a sample whose prediction and ground truth
            are both empty. Defaults to 1.0.
        output_dir (str, optional): If set, every sample's prediction is
            written as a 0/255 PNG to
            ``{output_dir}/{split}/{ref_id}_{sent_id}.png`` and the
            per-sample scores (``IoU``, ``I``, ``U``, ``text``, ``img_id``,
            ``split``) to ``{output_dir}/results.json`` keyed by
            ``"{ref_id}_{sent_id}"``. The scores are written as they come,
            one JSON line per sample and flushed every batch, to each rank's
            ``results_rank{r}.jsonl``; the main process merges them into
            ``results.json`` after the results are gathered. An evaluation
            that stops early (a crash, a kill) thus leaves every finished
            sample on disk, and :func:`metrics_from_records` (``tools/
            analysis_tools/recompute_metrics.py``) computes the metrics of
            what was finished. Defaults to None.
        save_masks (bool): Write the PNG masks when ``output_dir`` is set
            (False writes the per-sample scores only). Defaults to True.
        collect_device (str): Device used to gather results across ranks,
            ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Prefix added to every metric name by
            ``BaseMetric``. Defaults to None.
        collect_dir (str, optional): Synchronisation directory for
            ``collect_device='cpu'``. Defaults to None.
    """

    def __init__(self,
                 prec_thresholds: Sequence[float] = (0.5, 0.6, 0.7, 0.8, 0.9),
                 empty_iou: float = 1.0,
                 output_dir: Optional[str] = None,
                 save_masks: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
            collect_dir=collect_dir)
        self.prec_thresholds = tuple(float(t) for t in prec_thresholds)
        for thr in self.prec_thresholds:
            if not 0.0 <= thr <= 1.0:
                raise ValueError(
                    f'prec_thresholds must lie in [0, 1], got {thr}.')
        self.empty_iou = float(empty_iou)
        self.output_dir = output_dir
        self.save_masks = save_masks
        # This rank's per-sample records (JSON lines), only when output_dir
        # is set; they never enter ``self.results`` so gathering stays cheap.
        self._record_file = None

    # ------------------------------------------------------------------ #
    # per-sample processing
    # ------------------------------------------------------------------ #
    def process(self, data_batch: Any,
                data_samples: Sequence[SampleType]) -> None:
        """Reduce each sample to ``(split, I, U)`` and store it.

        Args:
            data_batch (Any): A batch from the dataloader (unused).
            data_samples (Sequence[dict | SegDataSample]): Model outputs,
                each with ``pred_sem_seg.data`` (1, H, W) and
                ``gt_sem_seg.data`` (1, H, W) at the original resolution and
                the metainfo keys ``split``, ``ref_id``, ``sent_id``.
        """
        # Counting happens where the masks are: numpy views of CPU tensors
        # (no copy), torch kernels on an accelerator, whose counts of the
        # whole batch come back in one transfer. Only the counts (and, with
        # ``output_dir``, the written mask) leave the device.
        pending = []  # (split, sample, pred) of every sample
        device_counts = {}  # device -> list of (2,) count tensors
        for sample in data_samples:
            split = str(_get_meta(sample, 'split', None) or DEFAULT_SPLIT)
            pred = _get_mask(sample, 'pred_sem_seg')
            gt = _get_mask(sample, 'gt_sem_seg')
            if pred is None or gt is None:
                missing = 'pred_sem_seg' if pred is None else 'gt_sem_seg'
                raise KeyError(f'RefSegMetric: sample '
                               f'{self._sample_name(sample)} has no '
                               f'`{missing}`; both the prediction and the '
                               'ground-truth mask are needed.')
            pred, gt = self._as_2d(pred), self._as_2d(gt)
            if pred.shape != gt.shape:
                raise ValueError(
                    f'RefSegMetric: prediction and ground truth of sample '
                    f'{self._sample_name(sample)} differ in shape: pred '
                    f'{tuple(pred.shape)} vs gt {tuple(gt.shape)}. Both must '
                    'be at the original image resolution.')
            if (pred.device.type == 'cpu' and gt.device.type == 'cpu'
                    and pred.dtype in _NUMPY_DTYPES
                    and gt.dtype in _NUMPY_DTYPES):
                counts = _count_numpy(pred.detach().numpy(),
                                      gt.detach().numpy())
            else:
                counts = _count_torch(pred, gt.to(pred.device))
                device_counts.setdefault(pred.device, []).append(counts)
            pending.append((split, sample, pred, counts))
        fetched = {
            device: iter(torch.stack(counts).tolist())
            for device, counts in device_counts.items()
        }
        for split, sample, pred, counts in pending:
            if isinstance(counts, torch.Tensor):
                counts = next(fetched[pred.device])
            intersection, union = int(counts[0]), int(counts[1])
            self.results.append((split, intersection, union))
            if self.output_dir is not None:
                self._dump_sample(sample, split, self._sample_name(sample),
                                  pred, intersection, union)
        if self._record_file is not None:
            self._record_file.flush()

    @staticmethod
    def _as_2d(mask: torch.Tensor) -> torch.Tensor:
        """Squeeze a (1, H, W) mask to (H, W)."""
        if mask.dim() == 3 and mask.shape[0] == 1:
            return mask[0]
        if mask.dim() != 2:
            raise ValueError('RefSegMetric expects masks of shape (1, H, W) '
                             f'or (H, W), got {tuple(mask.shape)}.')
        return mask

    @staticmethod
    def _sample_name(sample: SampleType) -> str:
        """``"{ref_id}_{sent_id}"``, falling back to what the sample has."""
        ref_id = _get_meta(sample, 'ref_id', None)
        sent_id = _get_meta(sample, 'sent_id', None)
        if ref_id is not None and sent_id is not None:
            return f'{_to_builtin(ref_id)}_{_to_builtin(sent_id)}'
        if ref_id is not None:
            return str(_to_builtin(ref_id))
        for key in ('sample_idx', 'img_id', 'img_path'):
            value = _get_meta(sample, key, None)
            if value is not None:
                return osp.splitext(osp.basename(str(_to_builtin(value))))[0]
        return 'unknown'

    def _iou(self, intersection: int, union: int) -> float:
        return intersection / union if union > 0 else self.empty_iou

    def _dump_sample(self, sample: SampleType, split: str, name: str,
                     pred: torch.Tensor, intersection: int,
                     union: int) -> None:
        """Write the PNG of one prediction and its JSON line."""
        if self.save_masks:
            mask = (pred > 0).to(torch.uint8).mul_(255).cpu().numpy()
            mmcv.imwrite(mask, osp.join(self.output_dir, split,
                                        f'{name}.png'))
        if self._record_file is None:
            os.makedirs(self.output_dir, exist_ok=True)
            self._record_file = open(
                self._rank_file(get_dist_info()[0]), 'w', encoding='utf-8')
        record = dict(
            name=name,
            IoU=self._iou(intersection, union),
            I=intersection,
            U=union,
            text=_to_builtin(_get_meta(sample, 'text', None)),
            img_id=_to_builtin(_get_meta(sample, 'img_id', None)),
            img_path=_to_builtin(_get_meta(sample, 'img_path', None)),
            split=split)
        self._record_file.write(json.dumps(record, ensure_ascii=False) + '\n')

    # ------------------------------------------------------------------ #
    # evaluation
    # ------------------------------------------------------------------ #
    def evaluate(self, size: int) -> dict:
        """Gather the results of all ranks and compute the metrics.

        With ``output_dir`` set, each rank has written its
        ``results_rank{r}.jsonl`` sample by sample; after the
        (synchronising) gather the main process merges them into
        ``results.json``.

        Args:
            size (int): Length of the whole evaluation dataset.

        Returns:
            dict: Metric name -> value in percent.
        """
        rank, world_size = get_dist_info()
        if self._record_file is not None:
            self._record_file.close()
            self._record_file = None
        metrics = super().evaluate(size)
        if self.output_dir is not None and is_main_process():
            os.makedirs(self.output_dir, exist_ok=True)
            merged: Dict[str, dict] = OrderedDict()
            for r in range(world_size):
                path = self._rank_file(r)
                if osp.isfile(path):
                    for record in _read_jsonl(path):
                        merged[record.pop('name')] = record
                    os.remove(path)
            with open(
                    osp.join(self.output_dir, 'results.json'),
                    'w',
                    encoding='utf-8') as f:
                json.dump(merged, f, ensure_ascii=False, indent=1)
        return metrics

    def _rank_file(self, rank: int) -> str:
        return osp.join(self.output_dir, f'results_rank{rank}.jsonl')

    def compute_metrics(self, results: List[Tuple[str, int, int]]) -> dict:
        """Compute oIoU, mIoU and Prec@X per split.

        Args:
            results (list[tuple[str, int, int]]): ``(split, I, U)`` of every
                sample of the dataset, gathered from all ranks.

        Returns:
            dict[str, float]: Metrics in percent. Plain keys (``oIoU``,
            ``mIoU``, ``Prec@0.5`` ...) for one split; ``'{split}/{key}'``
            for every split when there are several.
        """
        per_split: Dict[str, List[Tuple[int, int]]] = OrderedDict()
        for split, intersection, union in results:
            per_split.setdefault(split, []).append((intersection, union))

        logger = MMLogger.get_current_instance()
        metrics: Dict[str, float] = OrderedDict()
        multi = len(per_split) > 1
        for split, pairs in per_split.items():
            split_metrics = self._split_metrics(pairs)
            self._log_table(split, len(pairs), split_metrics, logger)
            for key, value in split_metrics.items():
                metrics[f'{split}/{key}' if multi else key] = value
        return dict(metrics)

    def _split_metrics(self, pairs: List[Tuple[int, int]]) -> Dict[str, float]:
        """oIoU, mIoU and Prec@X (percent) of one split's ``(I, U)`` pairs."""
        inter = np.array([p[0] for p in pairs], dtype=np.float64)
        union = np.array([p[1] for p in pairs], dtype=np.float64)
        nonempty = union > 0
        ious = np.full(len(pairs), self.empty_iou, dtype=np.float64)
        ious[nonempty] = inter[nonempty] / union[nonempty]

        total_union = union.sum()
        out: Dict[str, float] = OrderedDict()
        out['oIoU'] = float(100.0 * inter.sum() / total_union) \
            if total_union > 0 else 100.0 * self.empty_iou
        out['mIoU'] = float(100.0 * ious.mean())
        for thr in self.prec_thresholds:
            out[f'Prec@{thr:g}'] = float(100.0 * np.mean(ious > thr))
        return out

    @staticmethod
    def _log_table(split: str, count: int, metrics: Dict[str, float],
                   logger: MMLogger) -> None:
        """Log one split's metrics as a table."""
        table = PrettyTable()
        table.field_names = ['split', 'samples', *metrics.keys()]
        table.add_row([split, count, *(f'{v:.2f}' for v in metrics.values())])
        print_log(
            f'Referring segmentation results ({split}):\n' +
            table.get_string(),
            logger=logger)


def _read_jsonl(path: str) -> List[dict]:
    """Records of a JSON-lines file; a cut-off last line is skipped."""
    records = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break  # the line a killed process was writing
    return records


def metrics_from_records(output_dir: str,
                         prec_thresholds: Sequence[float] = (0.5, 0.6, 0.7,
                                                             0.8, 0.9),
                         empty_iou: float = 1.0) -> Tuple[dict, int]:
    """Metrics of the per-sample records in an ``output_dir``.

    Reads ``results.json`` (a finished evaluation) or else every
    ``results_rank*.jsonl`` (an evaluation that stopped early).

    Args:
        output_dir (str): The metric's ``output_dir`` (``tools/test.py
            --out``).
        prec_thresholds (Sequence[float]): As in :class:`RefSegMetric`.
        empty_iou (float): As in :class:`RefSegMetric`.

    Returns:
        tuple[dict, int]: The metrics (keys as :class:`RefSegMetric`
        returns them) and the number of samples they cover.
    """
    import glob
    merged: Dict[str, dict] = OrderedDict()
    final = osp.join(output_dir, 'results.json')
    if osp.isfile(final):
        with open(final, encoding='utf-8') as f:
            merged.update(json.load(f))
    else:
        for path in sorted(glob.glob(osp.join(output_dir,
                                              'results_rank*.jsonl'))):
            for record in _read_jsonl(path):
                merged[record.pop('name')] = record
    if not merged:
        raise FileNotFoundError(
            f'no per-sample results (results.json or results_rank*.jsonl) '
            f'in {output_dir}')
    metric = RefSegMetric(
        prec_thresholds=prec_thresholds, empty_iou=empty_iou)
    results = [(r.get('split') or DEFAULT_SPLIT, int(r['I']), int(r['U']))
               for r in merged.values()]
    return metric.compute_metrics(results), len(results)
