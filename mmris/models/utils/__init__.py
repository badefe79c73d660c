from .batch_norm import SafeBatchNorm1d
from .beit3_tokenizer import BEiT3Tokenizer
from .checkpoint import checkpoint_call
from .clip_tokenizer import CLIPTokenizer
from .coord_feats import concat_coord_feats, coord_feats
from .open_clip_utils import build_open_clip
from .spec_build import build_with_spec, output_spec_of, takes_spec
from .truncation import (log_truncation_summary, record_truncation,
                         reset_truncation, truncation_summary)

__all__ = [
    'SafeBatchNorm1d', 'CLIPTokenizer', 'build_open_clip', 'coord_feats',
    'concat_coord_feats', 'build_with_spec', 'output_spec_of',
    'takes_spec', 'record_truncation', 'truncation_summary',
    'reset_truncation', 'log_truncation_summary', 'BEiT3Tokenizer',
    'checkpoint_call'
]
