"""Declared output shapes of backbones and necks (docs/design.md section 2).

Every backbone states what its :class:`~mmris.structures.VLFeatures` will
hold, level by level (in the manner of detectron2's ``output_shape()`` and
timm's ``feature_info``), through ``output_spec() -> FeatureSpec``. The
:class:`~mmris.models.segmentors.RefSegmentor` hands that spec to the neck
(``in_spec=...``) and the neck's own ``output_spec()`` to the head, so the
arguments that only restate it (``in_channels``, ``word_dims``,
``sentence_dims``, grid sizes that follow from the input size) can be left
out of a config. When they are given they are checked against the spec, and a
pairing that cannot work fails when the model is built with a
:class:`SpecMismatchError` naming both modules.
"""
from dataclasses import dataclass, field, replace
from typing import Any, Optional, Sequence, Tuple

__all__ = ['LevelSpec', 'FeatureSpec', 'SpecMismatchError', 'resolve_arg']


class SpecMismatchError(ValueError):
    """A module cannot consume the features its predecessor declares."""


@dataclass(frozen=True)
class LevelSpec:
    """One visual level.

    Attributes:
        channels (int): Channels C_i of the (B, C_i, H_i, W_i) map.
        stride (int): Input pixels per map cell (16 for a ViT-B/16 map).
        has_cls (bool): Whether ``VLFeatures.visual_cls`` holds an
            image-level token of this level.
    """

    channels: int
    stride: int
    has_cls: bool = False


@dataclass(frozen=True)
class FeatureSpec:
    """What a :class:`~mmris.structures.VLFeatures` will hold.

    Attributes:
        visual (tuple[LevelSpec]): The visual levels, shallow to deep.
        word_dims (int): Width C_t of ``words``.
        sentence_dims (int): Width C_s of ``sentence``.
        word_level_dims (tuple[int], optional): Widths of ``word_levels``
            (one per visual level) when the producer fills that field.
        has_joint (bool): ``joint_levels`` is filled.
        has_sentence_index (bool): ``sentence_index`` is filled.
        extras (tuple[str]): Keys the producer puts in ``extras``.
        extra_dims (tuple[tuple[str, int]]): Channel widths of tensor extras
            (e.g. ``('shared_visual', 640)``).
        img_size (tuple[int, int], optional): Network input size (h, w) the
            model is built for; grid sizes follow from it and the strides.
        source (str): The module that declared the spec, for messages.
    """

    visual: Tuple[LevelSpec, ...]
    word_dims: int
    sentence_dims: int
    word_level_dims: Optional[Tuple[int, ...]] = None
    has_joint: bool = False
    has_sentence_index: bool = False
    extras: Tuple[str, ...] = ()
    extra_dims: Tuple[Tuple[str, int], ...] = ()
    img_size: Optional[Tuple[int, int]] = None
    source: str = field(default='', compare=False)

    def __post_init__(self) -> None:
        if not self.visual:
            raise ValueError('FeatureSpec needs at least one visual level')
        object.__setattr__(self, 'visual', tuple(self.visual))
        if self.word_level_dims is not None:
            if len(self.word_level_dims) != len(self.visual):
                raise ValueError('word_level_dims needs one width per visual '
                                 f'level ({len(self.visual)}), got '
                                 f'{self.word_level_dims}')
            object.__setattr__(self, 'word_level_dims',
                               tuple(self.word_level_dims))
        if self.img_size is not None:
            object.__setattr__(self, 'img_size', _pair(self.img_size))

    @property
    def channels(self) -> Tuple[int, ...]:
        """Channels of every visual level."""
        return tuple(level.channels for level in self.visual)

    @property
    def strides(self) -> Tuple[int, ...]:
        """Stride of every visual level."""
        return tuple(level.stride for level in self.visual)

    @property
    def num_levels(self) -> int:
        """Number of visual levels."""
        return len(self.visual)

    def level(self, index: int) -> LevelSpec:
        """The level at ``index`` (negative indices count from the end),
        with a clear error when it does not exist."""
        if not -len(self.visual) <= index < len(self.visual):
            raise SpecMismatchError(
                f'visual level {index} does not exist: {self.describe()}')
        return self.visual[index]

    def grid(self, index: int = -1) -> Optional[Tuple[int, int]]:
        """Map size (H_i, W_i) of a level at ``img_size``; None if unknown.

        Sizes are rounded up, as a stride-s convolution with padding gives.
        """
        if self.img_size is None:
            return None
        stride = self.level(index).stride
        return (-(-self.img_size[0] // stride), -(-self.img_size[1] // stride))

    def extra_dim(self, key: str) -> Optional[int]:
        """Channel width of a tensor extra, None if undeclared."""
        return dict(self.extra_dims).get(key)

    def replace(self, **changes: Any) -> 'FeatureSpec':
        """A copy with some fields changed (a neck's output spec)."""
        return replace(self, **changes)

    def describe(self) -> str:
        """One line for error messages."""
        levels = ', '.join(
            f'{lv.channels}ch/s{lv.stride}' + ('+cls' if lv.has_cls else '')
            for lv in self.visual)
        text = (f'{self.source or "features"} gives visual [{levels}], '
                f'words {self.word_dims}, sentence {self.sentence_dims}')
        if self.word_level_dims is not None:
            text += f', word levels {list(self.word_level_dims)}'
        if self.extras:
            text += f', extras {list(self.extras)}'
        if self.img_size is not None:
            text += f' at {self.img_size[0]}x{self.img_size[1]}'
        return text


def _pair(value) -> Tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f'expected an int or (h, w), got {value}')
    return value


def resolve_arg(owner: str, name: str, given: Any, derived: Any) -> Any:
    """Fill a constructor argument from the input spec, or check it.

    Args:
        owner (str): The consuming module, for messages (e.g. 'CRISHead').
        name (str): Argument name (e.g. 'in_channels').
        given: The value in the config; None when left out.
        derived: The value the input spec implies; None when there is no
            spec (the module was built on its own).

    Returns:
        The value to use.

    Raises:
        SpecMismatchError: Both are known and differ, or neither is.
    """
    if isinstance(given, list):
        given = tuple(given)
    if isinstance(derived, list):
        derived = tuple(derived)
    if given is None:
        if derived is None:
            raise SpecMismatchError(
                f'{owner} needs `{name}`: give it in the config, or build '
                f'{owner} inside a RefSegmentor after a backbone/neck that '
                'declares it (output_spec()).')
        return derived
    if derived is not None and given != derived:
        raise SpecMismatchError(
            f'{owner}: `{name}={given!r}` in the config, but its input '
            f'gives {derived!r}. Remove `{name}` from the config to take it '
            'from the input, or change the module before it.')
    return given


def level_list(values: Optional[Sequence[int]], n: int) -> Optional[tuple]:
    """``values`` as a tuple of length ``n``; an int is repeated."""
    if values is None:
        return None
    if isinstance(values, int):
        return (values, ) * n
    return tuple(values)
