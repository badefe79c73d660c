"""Shared fixtures of the transform tests: a small synthetic RIS sample."""
import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

import mmris  # noqa: F401  (installs the mmcv.ops shim before mmseg)

HEIGHT, WIDTH = 40, 60
# Object: a rectangle on the left half of the image.
OBJ_ROWS, OBJ_COLS = slice(10, 25), slice(5, 20)


def make_image(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """A colourful uint8 BGR image (gradients, so HSV jitter shows)."""
    ys, xs = np.mgrid[0:height, 0:width]
    img = np.stack([
        (xs * 255 // max(width - 1, 1)),
        (ys * 255 // max(height - 1, 1)),
        ((xs + ys) * 7) % 256,
    ], axis=-1).astype(np.uint8)
    img[OBJ_ROWS, OBJ_COLS] = (30, 60, 200)
    return img


def make_mask(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    mask[OBJ_ROWS, OBJ_COLS] = 1
    return mask


def mask_to_rle(mask: np.ndarray) -> dict:
    rle = mask_utils.encode(np.asfortranarray(mask))
    return dict(size=list(rle['size']), counts=rle['counts'].decode('ascii'))


def make_results(img_path: str,
                 mask: np.ndarray,
                 text: str = 'the red box on the left') -> dict:
    """A results dict following the dataset's data contract."""
    return dict(
        img_path=img_path,
        text=text,
        ref_id=7,
        sent_id=70,
        ann_id=700,
        img_id=3,
        split='train',
        ref_mask=dict(
            segmentation=mask_to_rle(mask),
            height=mask.shape[0],
            width=mask.shape[1]),
        seg_fields=[],
        reduce_zero_label=False)


@pytest.fixture
def image() -> np.ndarray:
    return make_image()


@pytest.fixture
def mask() -> np.ndarray:
    return make_mask()


@pytest.fixture
def image_file(tmp_path, image) -> str:
    path = str(tmp_path / 'scene.png')  # lossless, pixels exact
    assert cv2.imwrite(path, image)
    return path


@pytest.fixture
def sample(image_file, mask) -> dict:
    """Results dict of one sample whose image file exists."""
    return make_results(image_file, mask)


@pytest.fixture
def loaded(image, mask) -> dict:
    """Results dict as after loading image and mask."""
    return dict(
        img_path='in_memory.png',
        img=image.copy(),
        img_shape=image.shape[:2],
        ori_shape=image.shape[:2],
        gt_seg_map=mask.copy(),
        seg_fields=['gt_seg_map'],
        text='the red box on the left',
        ref_id=7,
        sent_id=70,
        ann_id=700,
        img_id=3,
        split='train',
        reduce_zero_label=False)


@pytest.fixture
def rle_of():
    """Function: binary mask -> compressed COCO RLE dict (str counts)."""
    return mask_to_rle


@pytest.fixture
def make_sample():
    """Function: (img_path, mask, text=...) -> results dict."""
    return make_results
