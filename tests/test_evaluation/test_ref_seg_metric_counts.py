"""RefSegMetric's counting paths: numpy views on the CPU, torch elsewhere,
against hand-computed counts (empty masks and ``empty_iou`` included)."""
import mmris  # noqa: F401  (must precede mmseg imports)
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmris.evaluation import RefSegMetric
from mmris.evaluation.metrics.ref_seg_metric import _count_numpy, _count_torch

# (pred, gt, I, U) by hand; values other than 0 / 1 and negative values
# check the ``> 0`` binarisation
CASES = [
    ([[2, 0, 0], [0, 7, 0]], [[1, 1, 0], [0, 1, 0]], 2, 3),
    ([[0, 0], [0, 0]], [[0, 0], [0, 0]], 0, 0),  # both empty
    ([[0, 0], [0, 0]], [[1, 0], [0, 0]], 0, 1),  # empty prediction
    ([[1, 1], [0, 0]], [[0, 0], [0, 0]], 0, 2),  # empty ground truth
    ([[-1, 1], [1, 0]], [[1, 1], [0, 0]], 1, 3),  # -1 is background
]
DTYPES = [torch.bool, torch.uint8, torch.int64, torch.float32]


def _sample(pred, gt, pred_dtype, gt_dtype, **meta):
    sample = SegDataSample(metainfo=meta)
    pred = torch.tensor(pred)
    gt = torch.tensor(gt)
    if pred_dtype in (torch.bool, torch.uint8):
        pred = pred.clamp(min=0)
    if gt_dtype in (torch.bool, torch.uint8):
        gt = gt.clamp(min=0)
    sample.pred_sem_seg = PixelData(data=pred.to(pred_dtype)[None])
    sample.gt_sem_seg = PixelData(data=gt.to(gt_dtype)[None])
    return sample


@pytest.mark.parametrize('pred_dtype', DTYPES)
@pytest.mark.parametrize('gt_dtype', DTYPES)
def test_counts_by_hand(pred_dtype, gt_dtype):
    metric = RefSegMetric(empty_iou=0.25)
    metric.process({}, [
        _sample(p, g, pred_dtype, gt_dtype, ref_id=k, sent_id=k)
        for k, (p, g, _, _) in enumerate(CASES)
    ])
    assert metric.results == [('default', i, u) for _, _, i, u in CASES]
    for pred, gt, i, u in CASES:
        p = np.asarray(pred) > 0
        g = np.asarray(gt) > 0
        assert (np.sum(p & g), np.sum(p | g)) == (i, u)
    metrics = metric.compute_metrics(metric.results)
    # oIoU = (2 + 0 + 0 + 0 + 1) / (3 + 0 + 1 + 2 + 3); the both-empty
    # sample scores empty_iou in mIoU
    assert metrics['oIoU'] == pytest.approx(100 * 3 / 9)
    assert metrics['mIoU'] == pytest.approx(100 * (2 / 3 + 0.25 + 1 / 3) /
                                            5)
    assert metrics['Prec@0.5'] == pytest.approx(100 * 1 / 5)


def test_torch_path_matches_numpy_path():
    """The accelerator path (torch kernels) run on the CPU."""
    rng = np.random.default_rng(0)
    for _ in range(5):
        pred = torch.from_numpy(rng.integers(-1, 3, (37, 53)))
        gt = torch.from_numpy(rng.integers(0, 2, (37, 53)).astype(np.uint8))
        want = _count_numpy(pred.numpy(), gt.numpy())
        assert _count_torch(pred, gt).tolist() == list(want)
        assert _count_torch(pred > 0, gt.bool()).tolist() == list(want)


def test_bfloat16_goes_through_torch():
    metric = RefSegMetric()
    sample = _sample([[1, 0]], [[1, 1]], torch.bfloat16, torch.int64)
    metric.process({}, [sample])
    assert metric.results == [('default', 1, 2)]
