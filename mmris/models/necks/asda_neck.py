"""ASDA's Adaptive Feature Selection and Fusion neck (Sec. 3.3, Eq. 1-5).

Paper: *Adaptive Selection based Referring Image Segmentation* (ASDA, ACM MM
2024). The neck selects one low-level layer (ViT layers 4-6) and one
mid-level layer (7-9) per sample with AFS (Eq. 1-3), fuses the sentence
feature into the top layer (Eq. 4) and aggregates the three with SFA
(Eq. 5) to the coarse feature F_coarse (26x26, 512 channels at 416 input).

**Index convention**: ``low_candidates``, ``mid_candidates``,
``high_index`` and ``fixed_layers`` are *positions in*
``VLFeatures.visual`` (the mmseg ``in_index`` convention), not ViT layer
ids. With :class:`~mmris.models.backbones.CLIPViT`'s default
``out_indices=(3, 4, 5, 6, 7, 8, 11)`` (0-based layer ids = paper layers
4, 5, 6, 7, 8, 9, 12) the paper's setting is ``low_candidates=(0, 1, 2)``,
``mid_candidates=(3, 4, 5)``, ``high_index=6`` (or -1), and Table 2 (b)'s
manual layers 6 and 9 are ``fixed_layers=(2, 5)``.
"""
from typing import Optional, Sequence

from mmris.registry import MODELS
from mmris.structures import (FeatureSpec, LevelSpec, SpecMismatchError,
                              VLFeatures, resolve_arg)
from .adaptive_feature_selection import SELECTIONS, AdaptiveFeatureSelection
from .base_ris_neck import BaseRISNeck
from .scale_wise_aggregator import (PUBLIC_ACT_CFG, PUBLIC_NORM_CFG,
                                    ConcatFusion, GlobalLocalFusion,
                                    ScaleWiseAggregator)

__all__ = ['ASDANeck']


@MODELS.register_module()
class ASDANeck(BaseRISNeck):
    """AFS + SFA (ASDA Eq. 1-5).

    Args:
        in_channels (int, optional): Channels C_v of the ViT maps (768 for
            ViT-B). Taken from ``in_spec`` when left out.
        text_dims (int, optional): Width C_t of the sentence feature (512).
            Taken from ``in_spec`` when left out.
        out_channels (int): Channels of F_coarse. Defaults to 512.
        fusion_channels (int, optional): Channels of F_G (Eq. 4; the public
            code's ``fusion_dim``). Defaults to ``in_channels``.
        low_candidates (Sequence[int]): Positions in ``feats.visual`` of the
            low-level candidates (paper: layers 4-6). Defaults to (0, 1, 2).
        mid_candidates (Sequence[int]): Positions of the mid-level
            candidates (paper: layers 7-9). Defaults to (3, 4, 5).
        high_index (int): Position of the top layer F_H. Defaults to -1.
        selection (str): 'straight_through' (learnable selector, default;
            its forward pass picks exactly the argmax), 'gumbel' (learnable,
            sampled while training), 'argmax' (public code: hard argmax, the
            selector gets no gradient), 'fixed' (``fixed_layers``, Table 2
            (b)) or 'none' (no low / mid layer, Table 2 (a) baseline; needs
            ``use_sfa=False``).
        selection_text (str): Text feature scored against each candidate's
            CLS token (Eq. 1): 'layer' (public code: the text tower's EOT
            token after the same layer, ``extras['sentence_levels']`` of
            :class:`~mmris.models.backbones.CLIPViT` with
            ``sentence_levels=True``) or 'sentence' (the paper's reading:
            the final sentence feature f_E for every layer).
        fixed_layers (Sequence[int], optional): (low, mid) positions for
            ``selection='fixed'``.
        use_sfa (bool): Aggregate with SFA (Eq. 5). False concatenates F_L,
            F_M and F_G and projects them (Table 2 (b)/(c), "without SFA").
        selector_type (str): ``Phi_as`` architecture, 'linear' | 'mlp' |
            'conv' (Table 5). Defaults to 'linear'.
        gumbel_tau (float): Gumbel-softmax temperature. Defaults to 1.0.
        sfa_scales (Sequence[int]): Up-sampling of F_G, F_M, F_L in SFA.
            Defaults to (1, 2, 4).
        norm_cfg (dict): Norm of the ConvModules (public code: BN with
            momentum 0.999).
        act_cfg (dict): Their activation (public code: LeakyReLU(0.1)).
        in_spec (FeatureSpec, optional): Declared input (set by
            :class:`RefSegmentor`); fills and checks ``in_channels`` and
            ``text_dims`` and checks the CLS tokens and per-layer text
            features the selection reads.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 text_dims: Optional[int] = None,
                 out_channels: int = 512,
                 fusion_channels: Optional[int] = None,
                 low_candidates: Sequence[int] = (0, 1, 2),
                 mid_candidates: Sequence[int] = (3, 4, 5),
                 high_index: int = -1,
                 selection: str = 'straight_through',
                 selection_text: str = 'layer',
                 fixed_layers: Optional[Sequence[int]] = None,
                 use_sfa: bool = True,
                 selector_type: str = 'linear',
                 gumbel_tau: float = 1.0,
                 sfa_scales: Sequence[int] = (1, 2, 4),
                 norm_cfg: dict = PUBLIC_NORM_CFG,
                 act_cfg: dict = PUBLIC_ACT_CFG,
                 in_spec: Optional[FeatureSpec] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        in_channels, text_dims = self._check_spec(
            in_spec, in_channels, text_dims, selection, selection_text,
            tuple(low_candidates) + tuple(mid_candidates), high_index)
        self._out_spec = None
        if in_spec is not None:
            self._out_spec = in_spec.replace(
                visual=(LevelSpec(out_channels,
                                  in_spec.level(high_index).stride), ),
                word_level_dims=None,
                has_joint=False,
                source='ASDANeck')
        modes = SELECTIONS + ('fixed', 'none')
        if selection not in modes:
            raise ValueError(f'selection must be one of {modes}, got '
                             f'{selection!r}')
        if selection_text not in ('layer', 'sentence'):
            raise ValueError('selection_text must be "layer" or "sentence", '
                             f'got {selection_text!r}')
        if (selection == 'fixed') != (fixed_layers is not None):
            raise ValueError('fixed_layers=(low, mid) is given exactly when '
                             f'selection="fixed" (got selection={selection!r},'
                             f' fixed_layers={fixed_layers})')
        if selection == 'none' and use_sfa:
            raise ValueError('selection="none" (no low/mid layer, Table 2 '
                             '(a)) needs use_sfa=False')
        if fixed_layers is not None and len(fixed_layers) != 2:
            raise ValueError(f'fixed_layers must be (low, mid), got '
                             f'{fixed_layers}')
        self.selection = selection
        self.selection_text = selection_text
        self.low_candidates = tuple(low_candidates)
        self.mid_candidates = tuple(mid_candidates)
        self.high_index = high_index
        self.fixed_layers = (tuple(fixed_layers)
                             if fixed_layers is not None else None)
        self.use_sfa = use_sfa
        if selection in SELECTIONS:
            self.afs = AdaptiveFeatureSelection(
                in_channels,
                text_dims, (self.low_candidates, self.mid_candidates),
                selection=selection,
                selector_type=selector_type,
                gumbel_tau=gumbel_tau)
        self.fusion = GlobalLocalFusion(in_channels, text_dims,
                                        fusion_channels, norm_cfg, act_cfg)
        fused = self.fusion.out_channels
        if use_sfa:
            self.sfa = ScaleWiseAggregator(
                (fused, in_channels, in_channels), out_channels, sfa_scales,
                norm_cfg, act_cfg)
        else:
            channels = ((fused, ) if selection == 'none' else
                        (in_channels, in_channels, fused))
            self.concat = ConcatFusion(channels, out_channels, norm_cfg,
                                       act_cfg)

    @staticmethod
    def _check_spec(spec: Optional[FeatureSpec], in_channels, text_dims,
                    selection: str, selection_text: str,
                    candidates: Sequence[int], high_index: int):
        """Fill ``in_channels`` / ``text_dims`` from the input spec and check
        that it carries what the selection reads."""
        derived_in = derived_text = None
        if spec is not None:
            needed = max([high_index] + list(candidates))
            if needed >= spec.num_levels:
                raise SpecMismatchError(
                    f'ASDANeck reads visual levels {tuple(candidates)} '
                    f'(candidates) and {high_index} (top), but the input has '
                    f'{spec.num_levels}: {spec.describe()}. Tap more layers '
                    '(out_indices) or change low_candidates / '
                    'mid_candidates / high_index')
            top = spec.level(high_index)
            derived_in, derived_text = top.channels, spec.sentence_dims
            if selection in SELECTIONS:
                for i in candidates:
                    level = spec.level(i)
                    if not level.has_cls:
                        raise SpecMismatchError(
                            f'ASDANeck selection={selection!r} reads the CLS '
                            f'token of level {i}, which the input does not '
                            f'declare: {spec.describe()}')
                    if level.channels != top.channels:
                        raise SpecMismatchError(
                            'ASDANeck needs candidate levels as wide as the '
                            f'top level ({top.channels}), level {i} has '
                            f'{level.channels}')
                if (selection_text == 'layer'
                        and 'sentence_levels' not in spec.extras):
                    raise SpecMismatchError(
                        'ASDANeck(selection_text="layer") reads '
                        "extras['sentence_levels'] (CLIPViT("
                        'sentence_levels=True)), which the input does not '
                        'declare; or use selection_text="sentence"')
        in_channels = resolve_arg('ASDANeck', 'in_channels', in_channels,
                                  derived_in)
        text_dims = resolve_arg('ASDANeck', 'text_dims', text_dims,
                                derived_text)
        return in_channels, text_dims

    def output_spec(self) -> Optional[FeatureSpec]:
        """One level, F_coarse, on the top level's grid (no CLS token)."""
        return self._out_spec

    def _selection_text(self, feats: VLFeatures):
        if self.selection_text == 'sentence':
            return feats.sentence
        levels = feats.extras.get('sentence_levels')
        if levels is None or len(levels) != len(feats.visual):
            raise ValueError(
                'ASDANeck(selection_text="layer") needs '
                "VLFeatures.extras['sentence_levels'], one text EOT feature "
                'per visual level (CLIPViT(sentence_levels=True)); got '
                f'{None if levels is None else len(levels)} for '
                f'{len(feats.visual)} levels')
        return levels

    def forward(self, feats: VLFeatures) -> VLFeatures:
        """Select, fuse and aggregate.

        Args:
            feats (VLFeatures): Backbone features; ``visual_cls`` (and with
                ``selection_text='layer'`` ``extras['sentence_levels']``) is
                needed by the adaptive selection modes.

        Returns:
            VLFeatures: ``visual=[F_coarse]`` (B, out_channels, H, W),
            ``visual_cls=None``, words / mask / sentence unchanged, and
            ``extras['asda_selection']`` = dict(``index`` (B, 2) chosen
            positions in ``feats.visual`` for (low, mid), ``probs`` list of
            (B, K) selector softmax) in the adaptive modes.
        """
        maps = feats.visual
        top = maps[self.high_index]
        fused_top = self.fusion(top, feats.sentence)  # F_G, Eq. 4
        extras = dict(feats.extras)
        if self.selection == 'none':
            coarse = self.concat(fused_top)
            return feats.replace(
                visual=[coarse], visual_cls=None, extras=extras)
        if self.selection == 'fixed':
            low, mid = (maps[i] for i in self.fixed_layers)
        else:
            if feats.visual_cls is None:
                raise ValueError('ASDANeck adaptive selection needs '
                                 'VLFeatures.visual_cls (CLS tokens)')
            (low, mid), info = self.afs(maps, feats.visual_cls,
                                        self._selection_text(feats))
            groups = (self.low_candidates, self.mid_candidates)
            index = info['index'].clone()
            for g, group in enumerate(groups):
                lut = index.new_tensor([i % len(maps) for i in group])
                index[:, g] = lut[index[:, g]]
            extras['asda_selection'] = dict(
                index=index, probs=info['probs'])
        if self.use_sfa:
            coarse = self.sfa(low, mid, fused_top)
        else:
            coarse = self.concat(low, mid, fused_top)
        return feats.replace(visual=[coarse], visual_cls=None, extras=extras)
