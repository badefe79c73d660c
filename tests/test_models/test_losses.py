"""Mask losses against hand-computed values and torchvision's focal loss."""
import math

import pytest
import torch

import mmris  # noqa: F401
from mmris.models.losses import MaskBCELoss, MaskDiceLoss, MaskFocalLoss

LN2 = math.log(2.0)


def test_bce_at_zero_logits_is_ln2():
    logits = torch.zeros(2, 1, 3, 3)
    target = torch.randint(0, 2, (2, 1, 3, 3))
    assert MaskBCELoss()(logits, target).item() == pytest.approx(LN2)


def test_bce_ignores_invalid_pixels():
    logits = torch.tensor([[[[10.0, -10.0]]]])
    target = torch.tensor([[[[1, 1]]]])
    valid = torch.tensor([[[[True, False]]]])
    loss = MaskBCELoss()(logits, target, valid)
    assert loss.item() == pytest.approx(math.log1p(math.exp(-10.0)))


def test_dice_hand_computed():
    # p = 0.5 everywhere, target 1 on 2 of 4 pixels:
    # inter = 1, |P| + |G| = 2 + 2 -> dice = (2*1 + 1) / (4 + 1) = 0.6
    logits = torch.zeros(1, 1, 2, 2)
    target = torch.tensor([[[[1, 1], [0, 0]]]])
    assert MaskDiceLoss()(logits, target).item() == pytest.approx(0.4)
    # a perfect prediction costs ~0, an empty one of an empty mask 0
    perfect = MaskDiceLoss()(target * 40.0 - 20.0, target)
    assert perfect.item() == pytest.approx(0.0, abs=1e-6)
    empty = torch.zeros(1, 1, 2, 2)
    assert MaskDiceLoss()(empty - 30, empty).item() == pytest.approx(
        0.0, abs=1e-6)


def test_focal_hand_computed():
    # logits 0: ce = ln2, p_t = 0.5, (1 - p_t)^2 = 0.25
    logits = torch.zeros(1, 1, 1, 2)
    target = torch.tensor([[[[1, 0]]]])
    loss = MaskFocalLoss(alpha=0.25, gamma=2.0)(logits, target)
    expected = (0.25 * 0.25 * LN2 + 0.75 * 0.25 * LN2) / 2
    assert loss.item() == pytest.approx(expected)


def test_focal_matches_torchvision_and_reduces_to_bce():
    from torchvision.ops import sigmoid_focal_loss
    torch.manual_seed(0)
    logits = torch.randn(2, 1, 5, 7)
    target = (torch.rand(2, 1, 5, 7) > 0.5).float()
    ours = MaskFocalLoss(alpha=0.25, gamma=2.0)(logits, target)
    ref = sigmoid_focal_loss(logits, target, 0.25, 2.0, reduction='mean')
    assert ours.item() == pytest.approx(ref.item(), rel=1e-5)
    # ASDA's coded loss: alpha=-1, gamma=0 is plain BCE
    plain = MaskFocalLoss(alpha=-1, gamma=0)(logits, target)
    assert plain.item() == pytest.approx(
        MaskBCELoss()(logits, target).item(), rel=1e-6)


def test_losses_reject_mismatched_shapes():
    with pytest.raises(ValueError, match='same shape'):
        MaskBCELoss()(torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match='alpha'):
        MaskFocalLoss(alpha=2.0)


def test_gradients_flow():
    logits = torch.randn(1, 1, 4, 4, requires_grad=True)
    target = torch.randint(0, 2, (1, 1, 4, 4))
    for loss_fn in (MaskBCELoss(), MaskDiceLoss(), MaskFocalLoss()):
        logits.grad = None
        loss_fn(logits, target).backward()
        assert logits.grad is not None and logits.grad.abs().sum() > 0
