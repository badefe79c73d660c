from .clip_resnet import CLIPResNet
from .clip_text_encoder import CLIPTextEncoder
from .clip_vit import CLIPViT
from .dense_attention_pool import DenseAttentionPool2d
from .risclip_backbone import RISCLIPBackbone

__all__ = ['CLIPTextEncoder', 'CLIPResNet', 'DenseAttentionPool2d', 'CLIPViT',
           'RISCLIPBackbone']
