"""The cross-paper configs (configs/mix/): each states why it exists, builds
at full size with its wiring arguments left out, and trains one step on CPU
through its own pipeline and optimizer wrapper."""
import glob
import os.path as osp

import pytest
import torch

from mmris.testing.config_step import config_train_step

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MIX = sorted(glob.glob(osp.join(REPO, 'configs', 'mix', '*.py')))


def test_mix_configs_exist_and_say_why():
    assert len(MIX) >= 3
    for path in MIX:
        with open(path) as f:
            header = f.readline()
        assert header.startswith('# Mixed ('), path
        assert '?' in open(path).read().split('_base_')[0], (
            f'{path}: the header asks the experiment\'s question')


@pytest.mark.full_size
@pytest.mark.parametrize('path', MIX, ids=osp.basename)
def test_mix_config_one_training_step(path, refer_data_root):
    torch.manual_seed(0)
    model, log_vars, changed = config_train_step(path, refer_data_root)
    assert torch.isfinite(log_vars['loss'])
    for prefix in ('backbone.', 'decode_head.') + (
            ('neck.', ) if model.with_neck else ()):
        assert any(n.startswith(prefix) for n in changed), prefix
