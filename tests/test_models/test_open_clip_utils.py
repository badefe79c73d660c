"""open_clip model building: local files only, missing files documented."""
import pytest
import torch

import mmris  # noqa: F401
from mmris.models.utils import build_open_clip
from mmris.models.utils.open_clip_utils import resolve_pretrained_file

TINY = dict(
    embed_dim=16,
    vision_cfg=dict(layers=1, width=32, head_width=16, patch_size=8,
                    image_size=32),
    text_cfg=dict(context_length=77, vocab_size=49408, width=32, heads=2,
                  layers=1))


def test_missing_weight_file_warns_and_starts_random(tmp_path):
    missing = str(tmp_path / 'clip' / 'ViT-B-16.pt')
    with pytest.warns(UserWarning, match='RANDOM weights'):
        assert resolve_pretrained_file(missing) is None
    assert resolve_pretrained_file('openai') == 'openai'  # a tag stays
    with pytest.warns(UserWarning):
        model = build_open_clip(model_cfg=TINY, pretrained=missing)
    assert model.positional_embedding.shape == (77, 32)


def test_local_weight_file_is_loaded(tmp_path):
    torch.manual_seed(0)
    source = build_open_clip(model_cfg=TINY)
    path = tmp_path / 'tiny.pt'
    torch.save(source.state_dict(), path)
    torch.manual_seed(1)
    loaded = build_open_clip(model_cfg=TINY, pretrained=str(path))
    for (name, a), b in zip(source.state_dict().items(),
                            loaded.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)


def test_unknown_model_name_is_a_clear_error():
    with pytest.raises(ValueError, match='unknown open_clip model'):
        build_open_clip('NotAModel')
