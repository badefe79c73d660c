"""Text-aware horizontal flip for referring image segmentation."""
import re
from typing import Dict, Union

from mmseg.datasets.transforms import RandomFlip

from mmris.registry import TRANSFORMS
from .utils import seg_map_keys

__all__ = ['RandomFlipText', 'swap_left_right', 'swap_text_left_right']

# Each pair is swapped both ways. Kept to words that in referring
# expressions almost always name a horizontal direction; hyphenated forms
# ("left-hand", "far-left") are covered by the word boundaries.
_LEFT_RIGHT_PAIRS = (
    ('left', 'right'),
    ('leftmost', 'rightmost'),
    ('lefthand', 'righthand'),
    ('leftward', 'rightward'),
    ('leftwards', 'rightwards'),
)


def _build_table(pairs) -> Dict[str, str]:
    table = {}
    for a, b in pairs:
        table[a] = b
        table[b] = a
    return table


def _match_case(template: str, word: str) -> str:
    """Give ``word`` the case pattern of ``template`` (lower/Title/UPPER)."""
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[0].isupper():
        return word[0].upper() + word[1:]
    return word


def _compile(table: Dict[str, str]) -> 're.Pattern[str]':
    # Longest first so alternatives never shadow each other.
    words = sorted(table, key=len, reverse=True)
    return re.compile(r'\b(' + '|'.join(map(re.escape, words)) + r')\b',
                      re.IGNORECASE)


_DEFAULT_TABLE = _build_table(_LEFT_RIGHT_PAIRS)
_DEFAULT_PATTERN = _compile(_DEFAULT_TABLE)


def _swap(text: str, table: Dict[str, str], pattern: 're.Pattern[str]') -> str:
    """Replace every match of ``pattern`` by its ``table`` entry, same case."""

    def _sub(match: 're.Match[str]') -> str:
        word = match.group(0)
        return _match_case(word, table[word.lower()])

    return pattern.sub(_sub, text)


def swap_left_right(text: str) -> str:
    """Swap the horizontal direction words of an expression.

    Whole words only (``"leftover"``, ``"brightest"`` are untouched), in a
    single pass (so ``"left of the right one"`` becomes
    ``"right of the left one"``), keeping the case pattern of each word
    (``left`` -> ``right``, ``Left`` -> ``Right``, ``LEFT`` -> ``RIGHT``).
    The words are those of :attr:`RandomFlipText.SWAP_PAIRS`.

    Args:
        text (str): The expression.

    Returns:
        str: The expression with the words swapped.
    """
    return _swap(text, _DEFAULT_TABLE, _DEFAULT_PATTERN)


def swap_text_left_right(
        text: Union[str, list, tuple, None],
        table: Dict[str, str] = _DEFAULT_TABLE,
        pattern: 're.Pattern[str]' = _DEFAULT_PATTERN
) -> Union[str, list, tuple, None]:
    """Swap left/right in ``results['text']``: a str or a list of str.

    Args:
        text (str | list[str] | tuple[str] | None): One expression, the
            expressions of a ref, or None (returned as is).
        table (dict[str, str]): Word -> replacement, both ways.
        pattern (re.Pattern): Pattern matching the words of ``table``.

    Returns:
        Same type as ``text``, every expression rewritten.
    """
    if isinstance(text, str):
        return _swap(text, table, pattern)
    if isinstance(text, (list, tuple)):  # several sentences of a ref
        return type(text)(_swap(t, table, pattern) for t in text)
    return text


@TRANSFORMS.register_module()
class RandomFlipText(RandomFlip):
    """Random horizontal flip that keeps the expression consistent.

    Flips the image and every segmentation map like mmseg's
    :class:`~mmseg.datasets.transforms.RandomFlip`, and when it flips it
    rewrites ``results['text']`` so that it still describes the same object:
    the words of :attr:`SWAP_PAIRS` are swapped both ways, as whole words,
    case preserved (see :func:`swap_left_right`).

    Swapped words (:attr:`SWAP_PAIRS`): left/right, leftmost/rightmost,
    lefthand/righthand, leftward/rightward, leftwards/rightwards; hyphenated
    forms ("left-hand", "far-right") follow from the word boundaries.
    Deliberately not swapped: comparatives that are not words ("lefter"),
    words merely containing the letters ("leftover", "bright", "copyright").
    Known limitation: "right" meaning "correct" and "left" as the past tense
    of "leave" are swapped too; in RefCOCO-style data both are rare.

    Only horizontal flips are supported: a vertical flip would need a
    top/bottom rewrite that is unreliable ("white top" is a garment), so
    ``direction`` must be ``'horizontal'``.

    Required Keys:

    - img
    - text (optional; a str, or a list of str, rewritten when present)
    - gt_seg_map / seg_fields (optional)

    Modified Keys:

    - img
    - text
    - gt_seg_map (and every other key of seg_fields)

    Added Keys:

    - flip
    - flip_direction

    Args:
        prob (float): Probability of flipping. Defaults to 0.5.
        direction (str): Must be ``'horizontal'``. Defaults to
            ``'horizontal'``.
    """

    SWAP_PAIRS = _LEFT_RIGHT_PAIRS

    def __init__(self,
                 prob: float = 0.5,
                 direction: Union[str, list] = 'horizontal') -> None:
        if direction not in ('horizontal', ['horizontal']):
            raise ValueError(
                f'RandomFlipText: only direction="horizontal" is supported '
                f'(text rewriting is defined for left/right), got '
                f'{direction!r}')
        super().__init__(prob=float(prob), direction='horizontal')
        self._table = _build_table(self.SWAP_PAIRS)
        self._pattern = _compile(self._table)

    def _flip(self, results: dict) -> None:
        """Flip the image, the segmentation maps and the expression."""
        seg_fields = results.get('seg_fields', [])
        extra = [k for k in seg_map_keys(results) if k not in seg_fields]
        super()._flip(results)  # image + keys of seg_fields
        for key in extra:
            results[key] = self._flip_seg_map(
                results[key], direction=results['flip_direction']).copy()
        if 'text' in results:
            results['text'] = swap_text_left_right(results['text'],
                                                   self._table, self._pattern)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(prob={self.prob})'
