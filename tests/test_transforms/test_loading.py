"""Tests of LoadRefImageFromFile and LoadRefMask."""
import cv2
import numpy as np
import pytest

from mmris.datasets.transforms import LoadRefImageFromFile, LoadRefMask
from mmris.registry import TRANSFORMS


def test_load_color_image(sample, image):
    results = LoadRefImageFromFile()(sample)
    assert results['img'].dtype == np.uint8
    assert results['img'].shape == image.shape
    np.testing.assert_array_equal(results['img'], image)
    assert results['img_shape'] == image.shape[:2]
    assert results['ori_shape'] == image.shape[:2]


def test_load_jpg(tmp_path, image):
    path = str(tmp_path / 'scene.jpg')
    cv2.imwrite(path, image)
    img = LoadRefImageFromFile()(dict(img_path=path))['img']
    assert img.shape == image.shape and img.dtype == np.uint8


def test_to_float32(sample):
    img = LoadRefImageFromFile(to_float32=True)(sample)['img']
    assert img.dtype == np.float32 and img.shape[2] == 3


@pytest.mark.parametrize('color_type', ['color', 'unchanged', 'grayscale'])
@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_grayscale_becomes_bgr(tmp_path, image, color_type, backend):
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    path = str(tmp_path / 'gray.png')
    cv2.imwrite(path, gray)
    img = LoadRefImageFromFile(
        color_type=color_type, imdecode_backend=backend)(dict(
            img_path=path))['img']
    assert img.shape == (*gray.shape, 3) and img.dtype == np.uint8
    for c in range(3):
        np.testing.assert_array_equal(img[..., c], gray)


@pytest.mark.parametrize('color_type', ['color', 'unchanged'])
def test_rgba_drops_alpha(tmp_path, image, color_type):
    alpha = np.full(image.shape[:2], 17, np.uint8)
    bgra = np.concatenate([image, alpha[..., None]], axis=-1)
    path = str(tmp_path / 'rgba.png')
    cv2.imwrite(path, bgra)
    img = LoadRefImageFromFile(color_type=color_type)(dict(
        img_path=path))['img']
    assert img.shape == image.shape
    np.testing.assert_array_equal(img, image)  # BGR kept, alpha dropped


def test_missing_file(tmp_path):
    path = str(tmp_path / 'nope.jpg')
    with pytest.raises(FileNotFoundError, match='nope.jpg'):
        LoadRefImageFromFile()(dict(img_path=path))
    assert LoadRefImageFromFile(ignore_empty=True)(dict(img_path=path)) \
        is None


@pytest.mark.parametrize('content', [b'', b'this is not an image' * 10])
@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
def test_corrupt_file(tmp_path, content, backend):
    path = tmp_path / 'broken.jpg'
    path.write_bytes(content)
    with pytest.raises(OSError, match='broken.jpg') as info:
        LoadRefImageFromFile(imdecode_backend=backend)(dict(
            img_path=str(path)))
    assert not isinstance(info.value, FileNotFoundError)
    assert LoadRefImageFromFile(ignore_empty=True)(dict(
        img_path=str(path))) is None


def test_truncated_jpg(tmp_path, image):
    ok, buf = cv2.imencode('.jpg', image)
    path = tmp_path / 'cut.jpg'
    path.write_bytes(buf.tobytes()[:20])
    with pytest.raises(OSError, match='cut.jpg'):
        LoadRefImageFromFile()(dict(img_path=str(path)))


def test_missing_img_path_key():
    with pytest.raises(KeyError, match='img_path'):
        LoadRefImageFromFile()(dict(text='x'))


def test_registered():
    assert TRANSFORMS.get('LoadRefImageFromFile') is LoadRefImageFromFile
    assert TRANSFORMS.get('LoadRefMask') is LoadRefMask
    assert 'LoadRefImageFromFile' in repr(LoadRefImageFromFile())


# ---------------------------------------------------------------- masks


def _load(results):
    return LoadRefMask()(LoadRefImageFromFile()(results))


def test_mask_from_rle(sample, mask):
    results = _load(sample)
    gt = results['gt_seg_map']
    assert gt.dtype == np.uint8 and gt.shape == mask.shape
    np.testing.assert_array_equal(gt, mask)
    assert set(np.unique(gt)) <= {0, 1}
    assert results['seg_fields'] == ['gt_seg_map']


def test_mask_from_polygon(sample, mask):
    # Pixel centres inside the polygon [5, 20) x [10, 25) are the object.
    sample['ref_mask'] = dict(
        segmentation=[[5, 10, 20, 10, 20, 25, 5, 25]],
        height=mask.shape[0],
        width=mask.shape[1])
    gt = _load(sample)['gt_seg_map']
    assert gt.dtype == np.uint8 and gt.shape == mask.shape
    assert set(np.unique(gt)) == {0, 1}
    # pycocotools' rasterisation may differ by one pixel at the edges.
    inter = np.logical_and(gt, mask).sum()
    assert inter / np.logical_or(gt, mask).sum() > 0.8
    assert gt[15, 10] == 1 and gt[0, 0] == 0 and gt[15, 40] == 0


def test_mask_from_png(sample, mask, tmp_path):
    path = str(tmp_path / 'mask.png')
    cv2.imwrite(path, mask * 255)
    sample['ref_mask'] = dict(png=path)
    np.testing.assert_array_equal(_load(sample)['gt_seg_map'], mask)


def test_seg_fields_not_duplicated(sample):
    results = _load(sample)
    results = LoadRefMask()(results)
    assert results['seg_fields'] == ['gt_seg_map']


def test_mask_without_image_uses_ori_shape(sample, mask):
    sample['ori_shape'] = mask.shape
    assert LoadRefMask()(sample)['gt_seg_map'].shape == mask.shape


def test_mask_size_mismatch(sample, rle_of):
    wrong = np.zeros((12, 34), np.uint8)
    wrong[3:5, 3:5] = 1
    sample['ref_mask'] = dict(segmentation=rle_of(wrong), height=12, width=34)
    with pytest.raises(ValueError, match='scene.png'):
        _load(sample)


def test_mask_missing_key(sample):
    del sample['ref_mask']
    with pytest.raises(KeyError, match='ref_mask'):
        _load(sample)


def test_mask_bad_annotation_names_image(sample):
    sample['ref_mask'] = dict(foo=1)
    with pytest.raises(KeyError, match='scene.png'):
        _load(sample)


def test_mask_missing_png_names_image(sample, tmp_path):
    sample['ref_mask'] = dict(png=str(tmp_path / 'absent.png'))
    with pytest.raises(FileNotFoundError, match='scene.png'):
        _load(sample)


def test_empty_annotation_mask(sample, mask):
    sample['ref_mask'] = dict(
        segmentation=[], height=mask.shape[0], width=mask.shape[1])
    gt = _load(sample)['gt_seg_map']
    assert gt.shape == mask.shape and not gt.any()
