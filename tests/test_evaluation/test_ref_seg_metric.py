"""Tests of RefSegMetric (oIoU, mIoU, Prec@X)."""
import json
import os.path as osp

import mmris  # noqa: F401  (must precede mmseg imports)
import mmcv
import numpy as np
import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmris.evaluation import RefSegMetric
from mmris.registry import METRICS


def make_sample(pred, gt, as_dict=True, **meta):
    """A model output as the Evaluator hands it to ``process``."""
    sample = SegDataSample(metainfo=meta)
    sample.pred_sem_seg = PixelData(
        data=torch.as_tensor(np.asarray(pred), dtype=torch.long)[None])
    sample.gt_sem_seg = PixelData(
        data=torch.as_tensor(np.asarray(gt), dtype=torch.uint8)[None])
    return sample.to_dict() if as_dict else sample


def run_metric(metric, samples):
    metric.process({}, samples)
    return metric.evaluate(len(samples))


def hand_samples():
    # Sample A (3x3): pred covers the top row (3 px), gt covers the left
    # column (3 px); they share pixel (0, 0): I = 1, U = 5, IoU = 0.2.
    a_pred = [[1, 1, 1], [0, 0, 0], [0, 0, 0]]
    a_gt = [[1, 0, 0], [1, 0, 0], [1, 0, 0]]
    # Sample B (2x2): pred = 2 px (top row), gt = whole image (4 px):
    # I = 2, U = 4, IoU = 0.5 exactly (NOT counted by Prec@0.5).
    b_pred = [[1, 1], [0, 0]]
    b_gt = [[1, 1], [1, 1]]
    # Sample C (2x3): pred = gt = 5 px except pred misses (1, 2):
    # gt 6 px, pred 5 px inside it: I = 5, U = 6, IoU = 0.8333.
    c_pred = [[1, 1, 1], [1, 1, 0]]
    c_gt = [[1, 1, 1], [1, 1, 1]]
    return [
        make_sample(a_pred, a_gt, ref_id=1, sent_id=10),
        make_sample(b_pred, b_gt, ref_id=2, sent_id=20),
        make_sample(c_pred, c_gt, ref_id=3, sent_id=30),
    ]


def test_hand_computed_values():
    metrics = run_metric(RefSegMetric(), hand_samples())
    # oIoU = (1 + 2 + 5) / (5 + 4 + 6) = 8 / 15
    assert metrics['oIoU'] == pytest.approx(100 * 8 / 15)
    # mIoU = (0.2 + 0.5 + 5/6) / 3
    assert metrics['mIoU'] == pytest.approx(100 * (0.2 + 0.5 + 5 / 6) / 3)
    # IoU > 0.5: only C (0.833); > 0.6, 0.7, 0.8: C; > 0.9: none.
    assert metrics['Prec@0.5'] == pytest.approx(100 / 3)
    assert metrics['Prec@0.6'] == pytest.approx(100 / 3)
    assert metrics['Prec@0.7'] == pytest.approx(100 / 3)
    assert metrics['Prec@0.8'] == pytest.approx(100 / 3)
    assert metrics['Prec@0.9'] == 0.0
    assert set(metrics) == {
        'oIoU', 'mIoU', 'Prec@0.5', 'Prec@0.6', 'Prec@0.7', 'Prec@0.8',
        'Prec@0.9'
    }


def test_prec_is_strict_at_threshold():
    # IoU exactly 0.5 (I=1, U=2) and exactly 0.6 (I=3, U=5).
    samples = [
        make_sample([[1, 1]], [[1, 0]]),
        make_sample([[1, 1, 1, 1, 1]], [[1, 1, 1, 0, 0]]),
    ]
    metrics = run_metric(
        RefSegMetric(prec_thresholds=(0.5, 0.6, 0.59, 0.75)), samples)
    assert metrics['Prec@0.5'] == pytest.approx(50.0)  # only 0.6 > 0.5
    assert metrics['Prec@0.6'] == 0.0
    assert metrics['Prec@0.59'] == pytest.approx(50.0)
    assert 'Prec@0.75' in metrics


def test_empty_cases():
    z = np.zeros((2, 2), dtype=int)
    o = np.ones((2, 2), dtype=int)
    # both empty -> IoU = empty_iou (1.0); gt empty, pred not -> 0;
    # pred empty, gt not -> 0.
    samples = [make_sample(z, z), make_sample(o, z), make_sample(z, o)]
    metrics = run_metric(RefSegMetric(), samples)
    assert metrics['mIoU'] == pytest.approx(100 / 3)
    assert metrics['oIoU'] == 0.0  # I = 0, U = 0 + 4 + 4
    assert metrics['Prec@0.9'] == pytest.approx(100 / 3)

    metrics = run_metric(RefSegMetric(empty_iou=0.0), samples)
    assert metrics['mIoU'] == 0.0
    assert metrics['Prec@0.5'] == 0.0


def test_all_empty_split():
    z = np.zeros((3, 3), dtype=int)
    metrics = run_metric(RefSegMetric(), [make_sample(z, z)] * 2)
    assert metrics['oIoU'] == 100.0
    assert metrics['mIoU'] == 100.0
    metrics = run_metric(RefSegMetric(empty_iou=0.0), [make_sample(z, z)])
    assert metrics['oIoU'] == 0.0


def test_empty_iou_does_not_change_oiou():
    z = np.zeros((2, 2), dtype=int)
    samples = hand_samples() + [make_sample(z, z)]
    m1 = run_metric(RefSegMetric(empty_iou=1.0), samples)
    m0 = run_metric(RefSegMetric(empty_iou=0.0), samples)
    assert m1['oIoU'] == pytest.approx(m0['oIoU'])
    assert m1['oIoU'] == pytest.approx(100 * 8 / 15)


def test_multi_split_keys():
    one = [[1, 1], [0, 0]]
    samples = [
        make_sample(one, one, split='refcoco_val'),  # IoU 1
        make_sample(one, [[1, 0], [0, 0]], split='refcoco_val'),  # 0.5
        make_sample(one, [[0, 0], [1, 1]], split='refcoco_testA'),  # 0
    ]
    metrics = run_metric(RefSegMetric(), samples)
    assert 'oIoU' not in metrics and 'mIoU' not in metrics
    for split in ('refcoco_val', 'refcoco_testA'):
        for key in ('oIoU', 'mIoU', 'Prec@0.5', 'Prec@0.9'):
            assert f'{split}/{key}' in metrics
    assert len(metrics) == 2 * 7
    assert metrics['refcoco_val/oIoU'] == pytest.approx(100 * 3 / 4)
    assert metrics['refcoco_val/mIoU'] == pytest.approx(75.0)
    assert metrics['refcoco_val/Prec@0.5'] == pytest.approx(50.0)
    assert metrics['refcoco_testA/oIoU'] == 0.0


def test_single_named_split_has_plain_keys_and_prefix():
    one = [[1, 1], [0, 0]]
    metrics = run_metric(
        RefSegMetric(prefix='ris'),
        [make_sample(one, one, split='refcocog_umd_val')])
    assert metrics['ris/oIoU'] == 100.0
    assert 'ris/Prec@0.9' in metrics


def _numpy_reference(preds, gts, thresholds, empty_iou=1.0):
    inter = np.array([np.logical_and(p, g).sum() for p, g in zip(preds, gts)])
    union = np.array([np.logical_or(p, g).sum() for p, g in zip(preds, gts)])
    iou = np.where(union > 0, inter / np.maximum(union, 1), empty_iou)
    out = {
        'oIoU': 100 * inter.sum() / union.sum(),
        'mIoU': 100 * iou.mean(),
    }
    for t in thresholds:
        out[f'Prec@{t}'] = 100 * np.mean(iou > t)
    return out


def test_matches_numpy_reference_on_random_masks():
    rng = np.random.default_rng(0)
    preds, gts, samples = [], [], []
    for i in range(40):
        h, w = rng.integers(5, 40, size=2)
        gt = rng.random((h, w)) < rng.uniform(0.05, 0.6)
        # correlate the prediction with the gt so IoUs span (0, 1)
        noise = rng.random((h, w)) < rng.uniform(0.0, 0.5)
        pred = np.where(noise, rng.random((h, w)) < 0.3, gt)
        if i % 10 == 0:
            pred[:] = False
        preds.append(pred)
        gts.append(gt)
        samples.append(
            make_sample(pred, gt, as_dict=bool(i % 2), ref_id=i, sent_id=0))
    thresholds = (0.5, 0.6, 0.7, 0.8, 0.9)
    metrics = run_metric(RefSegMetric(), samples)
    expected = _numpy_reference(preds, gts, thresholds)
    assert metrics.keys() == expected.keys()
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, abs=1e-9), key


def test_process_stores_one_small_tuple_per_sample():
    metric = RefSegMetric()
    samples = hand_samples()
    metric.process({}, samples[:2])
    metric.process({}, samples[2:])
    assert len(metric.results) == 3
    for entry in metric.results:
        assert isinstance(entry, tuple) and len(entry) == 3
        split, inter, union = entry
        assert isinstance(split, str)
        assert type(inter) is int and type(union) is int
    assert metric.results[0] == ('default', 1, 5)
    # evaluate() clears the results for the next round
    metric.evaluate(3)
    assert metric.results == []


def test_accepts_data_sample_objects_and_2d_bool():
    sample = make_sample([[1, 0]], [[1, 1]], as_dict=False)
    metric = RefSegMetric()
    metric.process({}, [sample])
    assert metric.results == [('default', 1, 2)]


def test_shape_mismatch_raises_clear_error():
    sample = make_sample(
        np.ones((4, 5)), np.ones((5, 4)), ref_id=7, sent_id=70)
    with pytest.raises(ValueError, match=r'7_70.*\(4, 5\).*\(5, 4\)'):
        RefSegMetric().process({}, [sample])


def test_missing_gt_raises():
    sample = SegDataSample(metainfo=dict(ref_id=1, sent_id=2))
    sample.pred_sem_seg = PixelData(data=torch.ones(1, 2, 2))
    with pytest.raises(KeyError, match='gt_sem_seg'):
        RefSegMetric().process({}, [sample.to_dict()])


def test_invalid_threshold():
    with pytest.raises(ValueError):
        RefSegMetric(prec_thresholds=(1.5, ))


def test_output_dir(tmp_path):
    out = tmp_path / 'preds'
    samples = [
        make_sample([[1, 1], [0, 0]], [[1, 0], [0, 0]],
                    split='refcoco_val', ref_id=5, sent_id=11,
                    text='left man', img_id=123),
        make_sample([[0, 0], [0, 1]], [[0, 0], [0, 1]],
                    split='refcoco_testA', ref_id=6, sent_id=12,
                    text='café', img_id=124),
    ]
    metrics = run_metric(RefSegMetric(output_dir=str(out)), samples)
    assert metrics['refcoco_val/oIoU'] == pytest.approx(50.0)

    png = mmcv.imread(
        str(out / 'refcoco_val' / '5_11.png'), flag='unchanged')
    np.testing.assert_array_equal(png, [[255, 255], [0, 0]])
    png = mmcv.imread(
        str(out / 'refcoco_testA' / '6_12.png'), flag='unchanged')
    np.testing.assert_array_equal(png, [[0, 0], [0, 255]])

    with open(out / 'results.json', encoding='utf-8') as f:
        results = json.load(f)
    assert results['5_11'] == dict(
        IoU=0.5, I=1, U=2, text='left man', img_id=123, img_path=None,
        split='refcoco_val')
    assert results['6_12']['IoU'] == 1.0
    assert results['6_12']['text'] == 'café'
    assert not osp.exists(out / 'results_rank0.json')


def test_build_from_registry():
    metric = METRICS.build(
        dict(type='RefSegMetric', prec_thresholds=[0.5, 0.75]))
    assert isinstance(metric, RefSegMetric)
    assert metric.prec_thresholds == (0.5, 0.75)


def test_through_mmengine_evaluator():
    from mmengine.evaluator import Evaluator
    evaluator = Evaluator(RefSegMetric())
    samples = [
        make_sample([[1, 1], [0, 0]], [[1, 0], [0, 0]], as_dict=False),
        make_sample([[1, 1], [0, 0]], [[1, 1], [0, 0]], as_dict=False),
    ]
    evaluator.process(data_samples=samples, data_batch={})
    metrics = evaluator.evaluate(2)
    assert metrics['oIoU'] == pytest.approx(100 * 3 / 4)
    assert metrics['mIoU'] == pytest.approx(75.0)


def test_partial_results_are_on_disk_and_recomputable(tmp_path):
    """Samples are written as they are processed: an evaluation that stops
    after the first batch leaves them on disk (results_rank0.jsonl, a
    cut-off last line ignored), and metrics_from_records scores them as
    the metric would."""
    from mmris.evaluation import metrics_from_records
    out = tmp_path / 'out'
    metric = RefSegMetric(output_dir=str(out), save_masks=False)
    batch1 = [
        make_sample([[1, 1], [0, 0]], [[1, 0], [0, 0]], ref_id=1, sent_id=1),
        make_sample([[1, 1], [1, 1]], [[1, 1], [1, 1]], ref_id=2, sent_id=2),
    ]
    metric.process({}, batch1)
    # the process dies here: no evaluate()
    lines = (out / 'results_rank0.jsonl').read_text().splitlines()
    assert len(lines) == 2
    assert not list(out.glob('*/*.png'))  # save_masks=False
    with open(out / 'results_rank0.jsonl', 'a') as f:
        f.write('{"name": "3_3", "Io')  # a line cut by the kill
    metrics, count = metrics_from_records(str(out))
    assert count == 2
    # I = 1 + 4, U = 2 + 4 -> oIoU 5/6; IoUs 0.5 and 1.0
    assert metrics['oIoU'] == pytest.approx(100 * 5 / 6)
    assert metrics['mIoU'] == pytest.approx(75.0)
    assert metrics['Prec@0.5'] == pytest.approx(50.0)
    # a finished evaluation gives the same from results.json
    full = RefSegMetric(output_dir=str(tmp_path / 'full'))
    expected = run_metric(full, batch1)
    again, _ = metrics_from_records(str(tmp_path / 'full'))
    assert again == pytest.approx(expected)
