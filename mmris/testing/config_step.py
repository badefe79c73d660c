"""One real training step of a config file, for the config tests.

Builds the config's model with random weights, its training dataset and
pipeline on a given data root, its optimizer wrapper (with the paramwise
settings) and runs ``model.train_step`` on a small batch: the check that a
full-size config is not broken (docs/design.md section 7).
"""
import copy
from typing import Dict, Optional, Set, Tuple

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

__all__ = ['config_train_step']


def _no_pretrained(cfg: dict) -> None:
    """Set every ``pretrained`` weight path in a model config to None."""
    for key, value in cfg.items():
        if key == 'pretrained':
            cfg[key] = None
        elif isinstance(value, dict):
            _no_pretrained(value)
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, dict):
                    _no_pretrained(item)


def config_train_step(path: str,
                      data_root: str,
                      batch_size: int = 2,
                      cfg_options: Optional[dict] = None
                      ) -> Tuple[torch.nn.Module, Dict[str, torch.Tensor],
                                 Set[str]]:
    """Build ``path`` with random weights and run one training step.

    Args:
        path (str): Config file.
        data_root (str): REFER data root replacing the config's.
        batch_size (int): Samples in the batch. Defaults to 2.
        cfg_options (dict, optional): Overrides merged into the config.

    Returns:
        tuple: The model, the logged variables of the step, and the names of
        the parameters the step changed.
    """
    from mmris.registry import DATASETS, MODELS
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope('mmris')
    _no_pretrained(cfg.model)
    model = MODELS.build(cfg.model)
    model.train()
    data_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    data_cfg.data_root = data_root
    dataset = DATASETS.build(data_cfg)
    batch = pseudo_collate([dataset[i] for i in range(batch_size)])
    optim_wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    log_vars = model.train_step(batch, optim_wrapper)
    changed = {
        n
        for n, p in model.named_parameters()
        if not torch.equal(before[n], p.detach())
    }
    return model, log_vars, changed
