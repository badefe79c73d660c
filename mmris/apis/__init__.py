from .inference import (init_model, inference_model, resolve_config,
                        to_bgr_image)
from .ris_inferencer import RISInferencer

__all__ = [
    'init_model', 'inference_model', 'RISInferencer', 'resolve_config',
    'to_bgr_image'
]
