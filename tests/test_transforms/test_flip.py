"""Tests of RandomFlipText and the left/right swap table."""
import numpy as np
import pytest

from mmris.datasets.transforms import RandomFlipText, swap_left_right
from mmris.registry import TRANSFORMS


@pytest.mark.parametrize('text, expected', [
    ('left', 'right'),
    ('right', 'left'),
    ('the man on the left', 'the man on the right'),
    ('Left guy', 'Right guy'),
    ('LEFT GUY', 'RIGHT GUY'),
    ('leftmost chair', 'rightmost chair'),
    ('Rightmost chair', 'Leftmost chair'),
    ('RIGHTMOST', 'LEFTMOST'),
    ('left-hand side', 'right-hand side'),
    ('lefthand cup', 'righthand cup'),
    ('moving leftwards', 'moving rightwards'),
    ('facing rightward', 'facing leftward'),
    ('far left.', 'far right.'),
    ('left,right;left', 'right,left;right'),
    ('left of the right one', 'right of the left one'),
    ('(left)', '(right)'),
    # not whole words: untouched
    ('leftover pizza', 'leftover pizza'),
    ('bright light', 'bright light'),
    ('copyright sign', 'copyright sign'),
    ('lefter', 'lefter'),
    ('rights', 'rights'),
    ('left2', 'left2'),
    ('', ''),
    ('a dog', 'a dog'),
])
def test_swap_left_right(text, expected):
    assert swap_left_right(text) == expected
    assert swap_left_right(swap_left_right(text)) == text  # involution


def test_swap_pairs_attribute():
    pairs = dict(RandomFlipText.SWAP_PAIRS)
    assert pairs['left'] == 'right' and pairs['leftmost'] == 'rightmost'
    for a, b in RandomFlipText.SWAP_PAIRS:
        assert swap_left_right(a) == b and swap_left_right(b) == a


def test_flip_applies_everything(loaded):
    img, mask = loaded['img'].copy(), loaded['gt_seg_map'].copy()
    results = RandomFlipText(prob=1.0)(loaded)
    assert results['flip'] is True
    assert results['flip_direction'] == 'horizontal'
    np.testing.assert_array_equal(results['img'], img[:, ::-1])
    np.testing.assert_array_equal(results['gt_seg_map'], mask[:, ::-1])
    assert results['text'] == 'the red box on the right'
    assert results['gt_seg_map'].dtype == np.uint8


def test_flip_mask_not_in_seg_fields_flipped_once(loaded):
    mask = loaded['gt_seg_map'].copy()
    loaded['seg_fields'] = []
    results = RandomFlipText(prob=1.0)(loaded)
    np.testing.assert_array_equal(results['gt_seg_map'], mask[:, ::-1])


def test_no_flip(loaded):
    img, mask = loaded['img'].copy(), loaded['gt_seg_map'].copy()
    results = RandomFlipText(prob=0.0)(loaded)
    assert results['flip'] is False and results['flip_direction'] is None
    np.testing.assert_array_equal(results['img'], img)
    np.testing.assert_array_equal(results['gt_seg_map'], mask)
    assert results['text'] == 'the red box on the left'


def test_flip_text_list_and_missing_text(loaded):
    loaded['text'] = ['left one', 'the right cat']
    results = RandomFlipText(prob=1.0)(loaded)
    assert results['text'] == ['right one', 'the left cat']
    del results['text']
    assert 'text' not in RandomFlipText(prob=1.0)(results)


def test_flip_probability(loaded):
    np.random.seed(0)
    t = RandomFlipText(prob=0.5)
    flips = [t(dict(loaded, img=loaded['img'].copy()))['flip']
             for _ in range(200)]
    assert 60 < sum(flips) < 140


@pytest.mark.parametrize('direction', ['vertical', 'diagonal',
                                       ['horizontal', 'vertical']])
def test_only_horizontal(direction):
    with pytest.raises(ValueError, match='horizontal'):
        RandomFlipText(prob=0.5, direction=direction)


def test_registry():
    t = TRANSFORMS.build(dict(type='RandomFlipText', prob=0.5))
    assert isinstance(t, RandomFlipText) and t.prob == 0.5
    assert repr(t) == 'RandomFlipText(prob=0.5)'
