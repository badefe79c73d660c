"""ASDA's Word-Guided Dual-Branch Aligner head (Sec. 3.4, Eq. 6-10).

Paper: *Adaptive Selection based Referring Image Segmentation* (ASDA, ACM MM
2024). The coarse feature F_coarse is refined by the CFS branch's local
visual attention (Eq. 6) into F_A, which feeds both

* the CFS segmentation decoder -> N_c response masks M' (Eq. 7), and
* the WCG branch: cross-attention to the words -> F_fine (Eq. 8) -> N_c
  coefficients f_coef (Eq. 9),

and the mask logits are the weighted sum ``M = sum_k f_coef[k] * M'[k]``
(Eq. 10), at stride 2 of the input (208x208 at 416). With its defaults it
is the authors' public model (swagger-coder/ASDA at 97bc06c,
``model/model.py`` 292-314, 418-465) module for module; the paper's
differing readings are switches (``prototype_act='sigmoid'``,
``mask_padding=True``, ``norm_first=True``).

Ablations (Table 2): ``dual_branch=False`` is the single-branch aligner of
row (e) (F_A -> word cross-attention -> decoder -> 1 logit map);
``dual_branch=False, use_words=False`` is the word-free decoder of rows
(a)-(d).
"""
from typing import Dict, Optional, Sequence, Tuple, Union

from mmseg.utils import ConfigType
from torch import Tensor

from mmris.registry import MODELS
from mmris.structures import FeatureSpec, VLFeatures, resolve_arg
from .base_ris_head import BaseRISHead
from .coarse_to_fine_decoder import CoarseToFineDecoder
from .word_guided_coef import WordGuidedCoefficientGenerator

__all__ = ['WGDAHead']


@MODELS.register_module()
class WGDAHead(BaseRISHead):
    """CFS + WCG (ASDA Eq. 6-10).

    Args:
        in_channels (int, optional): Channels d of F_coarse (= attention
            width; 512). Taken from ``in_spec`` when left out.
        word_dims (int, optional): Width C_t of the word features (512).
            Taken from ``in_spec`` when left out.
        num_prototypes (int): N_c response masks / coefficients (Table 4).
            Defaults to 32.
        num_layers (int): ``n`` local visual attention layers (Table 3).
            Defaults to 2.
        num_heads (int): Attention heads. Defaults to 8.
        ffn_dims (int): MLP hidden width of the CFS attention layers.
            Defaults to 512 (public code).
        wcg_ffn_dims (int): MLP hidden width of WCG's cross-attention.
            Defaults to 2048 (public code).
        dual_branch (bool): Eq. 10 dual-branch output (True) or the
            single-branch ablation (False).
        mask_padding (bool): Give padded word positions no attention weight
            in WCG (the paper's intent); False (default) attends to every
            position as the public code does.
        use_words (bool): With ``dual_branch=False``, whether the words are
            attended at all (False: Table 2 (a)-(d)).
        norm_first (bool): Pre-norm CFS attention layers (the paper's Eq. 6
            reading); default False (post-norm + final LayerNorm, public
            code).
        decoder_channels (int): Channels of the CFS decoder convs. Defaults
            to 256.
        num_upsamples (int): Nearest x2 steps of the CFS decoder (3: output
            stride 2 from stride 16).
        feat_size (int | tuple[int, int], optional): Token grid of
            F_coarse, needed by WCG's flatten + Linear (26 at 416 / patch
            16). Taken from ``in_spec`` (the input size over the level's
            stride) when left out.
        coef_pool (str): 'linear' (public code) or 'avg' (size-agnostic).
        prototype_act (str): Activation on M': 'relu' (public code),
            'sigmoid' (Eq. 7) or 'none'.
        dropout (float): Attention / MLP dropout. Defaults to 0.1.
        norm_cfg (dict): Norm of the ConvModules (public code: BN with
            momentum 0.999).
        act_cfg (dict): Their activation (public code: LeakyReLU(0.1)).
        in_index (int): Which ``feats.visual`` map is F_coarse. Defaults -1.
        in_spec (FeatureSpec, optional): Declared input (set by
            :class:`RefSegmentor`); fills and checks ``in_channels``,
            ``word_dims`` and ``feat_size``.
        loss_decode (dict | list[dict]): Losses; defaults to the public
            code's ``MaskFocalLoss(alpha=-1, gamma=0)`` (plain BCE) + dice,
            1:1 (the paper: focal + dice).
        **kwargs: ``align_corners``, ``init_cfg`` for :class:`BaseRISHead`.
    """

    def __init__(self,
                 in_channels: Optional[int] = None,
                 word_dims: Optional[int] = None,
                 num_prototypes: int = 32,
                 num_layers: int = 2,
                 num_heads: int = 8,
                 ffn_dims: int = 512,
                 wcg_ffn_dims: int = 2048,
                 dual_branch: bool = True,
                 mask_padding: bool = False,
                 use_words: bool = True,
                 norm_first: bool = False,
                 decoder_channels: int = 256,
                 num_upsamples: int = 3,
                 feat_size: Union[None, int, Tuple[int, int]] = None,
                 coef_pool: str = 'linear',
                 prototype_act: str = 'relu',
                 dropout: float = 0.1,
                 norm_cfg: dict = dict(type='BN', momentum=0.999),
                 act_cfg: dict = dict(type='LeakyReLU', negative_slope=0.1),
                 in_index: int = -1,
                 loss_decode: Union[ConfigType, Sequence[ConfigType]] = (
                     dict(type='MaskFocalLoss', alpha=-1, gamma=0,
                          loss_weight=1.0),
                     dict(type='MaskDiceLoss', loss_weight=1.0)),
                 in_spec: Optional[FeatureSpec] = None,
                 **kwargs) -> None:
        super().__init__(loss_decode=list(loss_decode) if isinstance(
            loss_decode, tuple) else loss_decode, **kwargs)
        if dual_branch and not use_words:
            raise ValueError('dual_branch=True needs use_words=True')
        derived = (None, None, None)
        if in_spec is not None:
            derived = (in_spec.level(in_index).channels, in_spec.word_dims,
                       in_spec.grid(in_index))
        in_channels = resolve_arg('WGDAHead', 'in_channels', in_channels,
                                  derived[0])
        if use_words:
            word_dims = resolve_arg('WGDAHead', 'word_dims', word_dims,
                                    derived[1])
        if use_words and dual_branch and coef_pool == 'linear':
            if isinstance(feat_size, int):
                feat_size = (feat_size, feat_size)
            feat_size = resolve_arg('WGDAHead', 'feat_size', feat_size,
                                    derived[2])
        self.dual_branch = dual_branch
        self.use_words = use_words
        self.in_index = in_index
        self.num_prototypes = num_prototypes
        self.cfs = CoarseToFineDecoder(
            in_channels,
            num_layers,
            num_heads,
            ffn_dims,
            dropout,
            norm_first=norm_first,
            decoder_channels=decoder_channels,
            num_upsamples=num_upsamples,
            out_channels=num_prototypes if dual_branch else 1,
            out_act=prototype_act if dual_branch else 'none',
            norm_cfg=norm_cfg,
            act_cfg=act_cfg)
        if use_words:
            self.wcg = WordGuidedCoefficientGenerator(
                in_channels,
                word_dims,
                num_heads,
                wcg_ffn_dims,
                num_prototypes,
                feat_size,
                coef_pool,
                mask_padding,
                dropout,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg,
                with_coef=dual_branch)

    @property
    def mask_padding(self) -> bool:
        """Whether WCG masks padded words."""
        return self.use_words and self.wcg.mask_padding

    def forward_branches(self, feats: VLFeatures) -> Dict[str, Tensor]:
        """Run the branches and keep the intermediate outputs.

        Returns:
            dict[str, Tensor]: ``logits`` (B, 1, h, w); with the dual branch
            also ``prototypes`` M' (B, N_c, h, w) and ``coefficients``
            f_coef (B, N_c).
        """
        coarse = feats.visual[self.in_index]
        size = tuple(coarse.shape[-2:])
        tokens, _ = self.cfs.encode(coarse)  # F_A, Eq. 6
        if self.dual_branch:
            protos = self.cfs.decode(tokens, size)  # M', Eq. 7
            coef = self.wcg(tokens, feats.words, feats.word_pad_mask,
                            size)  # Eq. 8-9
            logits = (protos * coef[:, :, None, None]).sum(
                1, keepdim=True)  # Eq. 10
            return dict(logits=logits, prototypes=protos, coefficients=coef)
        if self.use_words:
            tokens = self.wcg.fine(tokens, feats.words,
                                   feats.word_pad_mask)
        return dict(logits=self.cfs.decode(tokens, size))

    def forward(self, feats: VLFeatures) -> Tensor:
        """Mask logits (B, 1, 8H, 8W) from F_coarse (B, d, H, W)."""
        return self.forward_branches(feats)['logits']
