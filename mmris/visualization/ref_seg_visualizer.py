"""Drawing of a referring-segmentation result on its image (numpy / cv2).

:func:`draw_ref_seg` is free of runner state so that a demo script, a
notebook or :class:`~mmris.engine.hooks.RefSegVisualizationHook` can share it.
"""
from typing import List, Optional, Tuple

import cv2
import numpy as np

__all__ = ['draw_ref_seg']

Color = Tuple[int, int, int]

# Colours are in the image's channel order; defaults read well in both orders
# but are named for BGR (the order of mmcv.imread / cv2).
DEFAULT_PRED_COLOR: Color = (255, 144, 30)  # dodger blue in BGR
DEFAULT_GT_COLOR: Color = (0, 255, 0)  # green
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _to_mask(mask: np.ndarray, shape: Tuple[int, int],
             name: str) -> np.ndarray:
    """Return ``mask`` as an (H, W) bool array and check its size."""
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[0] == 1:
        mask = mask[0]
    if mask.shape != shape:
        raise ValueError(f'{name} has shape {mask.shape}, expected {shape} '
                         '(the image height and width).')
    return mask > 0


def _ascii(text: str) -> str:
    """Replace characters that cv2's Hershey fonts cannot draw with '?'."""
    return ''.join(c if 32 <= ord(c) < 127 else '?' for c in text)


def _wrap(text: str, max_width: int, scale: float,
          thickness: int) -> List[str]:
    """Greedy word wrap so that every line fits in ``max_width`` pixels."""
    lines: List[str] = []
    current = ''
    for word in text.split():
        candidate = f'{current} {word}' if current else word
        width = cv2.getTextSize(candidate, _FONT, scale, thickness)[0][0]
        if width <= max_width or not current:
            current = candidate
        else:
            lines.append(current)
            current = word
    if current:
        lines.append(current)
    return lines


def draw_ref_seg(image: np.ndarray,
                 pred_mask: Optional[np.ndarray],
                 gt_mask: Optional[np.ndarray] = None,
                 text: Optional[str] = None,
                 iou: Optional[float] = None,
                 pred_color: Color = DEFAULT_PRED_COLOR,
                 gt_color: Color = DEFAULT_GT_COLOR,
                 alpha: float = 0.5,
                 contour_thickness: int = 2) -> np.ndarray:
    """Draw a predicted mask, the ground-truth contour and the expression.

    The prediction is blended into the image as a translucent fill, the
    ground truth is outlined with its contour, and the expression (plus the
    IoU when given) is written over a darkened band at the top. The text is
    drawn with cv2's Hershey font, which only covers printable ASCII: other
    characters are rendered as ``'?'``.

    Args:
        image (np.ndarray): (H, W, 3) or (H, W) uint8 image. Colours are
            interpreted in the image's own channel order (BGR for
            ``mmcv.imread``); a grayscale image is expanded to 3 channels.
        pred_mask (np.ndarray, optional): (H, W) or (1, H, W) mask, non-zero
            for the referred object. None draws no prediction.
        gt_mask (np.ndarray, optional): (H, W) or (1, H, W) ground-truth
            mask drawn as a contour. Defaults to None.
        text (str, optional): The referring expression. Defaults to None.
        iou (float, optional): IoU of the prediction, in [0, 1], appended to
            the caption. Defaults to None.
        pred_color (tuple[int, int, int]): Fill colour of the prediction.
        gt_color (tuple[int, int, int]): Contour colour of the ground truth.
        alpha (float): Opacity of the prediction fill. Defaults to 0.5.
        contour_thickness (int): Thickness of the ground-truth contour in
            pixels. Defaults to 2.

    Returns:
        np.ndarray: (H, W, 3) uint8 drawing; the input is not modified.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[..., :3]
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'Expected an (H, W, 3) or (H, W) image, got '
                         f'{image.shape}.')
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    shape = image.shape[:2]
    canvas = image.copy()

    if pred_mask is not None:
        pred = _to_mask(pred_mask, shape, 'pred_mask')
        fill = np.asarray(pred_color, dtype=np.float32)
        blended = canvas[pred].astype(np.float32) * (1 - alpha) + fill * alpha
        canvas[pred] = np.round(blended).astype(np.uint8)

    if gt_mask is not None:
        gt = _to_mask(gt_mask, shape, 'gt_mask').astype(np.uint8)
        contours, _ = cv2.findContours(gt, cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(canvas, contours, -1, tuple(int(c) for c in gt_color),
                         contour_thickness)

    caption = _ascii(text) if text else ''
    if iou is not None:
        caption = f'{caption} | IoU {100 * iou:.1f}' if caption \
            else f'IoU {100 * iou:.1f}'
    if caption:
        _draw_caption(canvas, caption)
    return canvas


def _draw_caption(canvas: np.ndarray, caption: str) -> None:
    """Write ``caption`` in white over a darkened band at the top, in place."""
    height, width = canvas.shape[:2]
    scale = float(np.clip(width / 800.0, 0.4, 1.2))
    thickness = max(1, int(round(scale * 1.5)))
    margin = max(2, int(round(6 * scale)))
    lines = _wrap(caption, width - 2 * margin, scale, thickness)
    line_h = cv2.getTextSize('Ag', _FONT, scale, thickness)[0][1] + margin
    band_h = min(height, margin + line_h * len(lines))
    band = canvas[:band_h].astype(np.float32) * 0.4
    canvas[:band_h] = band.astype(np.uint8)
    for i, line in enumerate(lines):
        baseline_y = margin + line_h * (i + 1) - margin // 2
        if baseline_y > height:
            break
        cv2.putText(canvas, line, (margin, baseline_y), _FONT, scale,
                    (255, 255, 255), thickness, cv2.LINE_AA)
