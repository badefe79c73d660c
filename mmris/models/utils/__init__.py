from .clip_tokenizer import CLIPTokenizer
from .open_clip_utils import build_open_clip

__all__ = ['CLIPTokenizer', 'build_open_clip']
