"""init_model / inference_model on a toy config and generated data."""
import glob
import os.path as osp

import mmcv
import numpy as np
import torch

import mmris  # noqa: F401
from e2e_utils import write_toy_config
from mmris.apis import inference_model, init_model


def test_inference_on_files_and_arrays(refer_data_root, tmp_path):
    cfg = write_toy_config(str(tmp_path / 'toy.py'), refer_data_root)
    model = init_model(cfg, checkpoint=None, device='cpu')
    images = sorted(
        glob.glob(osp.join(refer_data_root, 'coco', 'train2014', '*')))[:2]
    one = inference_model(model, images[0], 'the object on the left')
    h, w = mmcv.imread(images[0]).shape[:2]
    assert one.pred_sem_seg.data.shape == (1, h, w)
    assert set(torch.unique(one.pred_sem_seg.data).tolist()) <= {0, 1}
    assert one.metainfo['text'] == 'the object on the left'

    arrays = [mmcv.imread(p) for p in images]
    many = inference_model(model, arrays, ['a thing', 'another thing'])
    assert [m.pred_sem_seg.shape for m in many] == [
        a.shape[:2] for a in arrays
    ]
    # the same image gives the same prediction from a file and an array
    again = inference_model(model, arrays[0], 'the object on the left')
    np.testing.assert_array_equal(again.seg_logits.data.numpy(),
                                  one.seg_logits.data.numpy())
