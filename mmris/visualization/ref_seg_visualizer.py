"""Drawing of a referring-segmentation result on its image.

:func:`draw_ref_seg` is free of runner state so that the demo, the
inferencer, a notebook and :class:`~mmris.engine.hooks.RefSegVisualizationHook`
share it. The layout is made to be read at a glance, also for the 96-pixel
images of the quick start and for expressions about colours:

* small images are enlarged (nearest neighbour, by an integer factor) to at
  least ``min_size`` pixels on their long side;
* the prediction is a solid contour plus a light fill (``alpha``), so the
  object's own colour stays visible under it;
* the ground truth is a dashed black-and-white contour, visible on any
  colour;
* the expression, the IoU and a legend of both styles are written in a band
  *below* the image (nothing covers the image), with a TrueType font
  (DejaVu Sans, shipped with matplotlib), so any character the font covers
  is drawn (accents, Greek, Cyrillic ...).
"""
import functools
import os.path as osp
from typing import List, Optional, Tuple

import cv2
import numpy as np

__all__ = ['draw_ref_seg', 'DEFAULT_PRED_COLOR', 'DEFAULT_GT_COLOR']

Color = Tuple[int, int, int]

#: Prediction colour (RGB): magenta, absent from the usual object colours.
DEFAULT_PRED_COLOR: Color = (255, 0, 255)
#: Ground-truth dash colours (RGB): white and black alternate.
DEFAULT_GT_COLOR: Color = (255, 255, 255)
_GT_DARK: Color = (0, 0, 0)
_BAND_BG: Color = (255, 255, 255)
_TEXT: Color = (0, 0, 0)


@functools.lru_cache(maxsize=8)
def _font(size: int):
    """DejaVu Sans at ``size`` px (matplotlib's copy), else PIL's default."""
    from PIL import ImageFont
    try:
        import matplotlib
        path = osp.join(matplotlib.get_data_path(), 'fonts', 'ttf',
                        'DejaVuSans.ttf')
        return ImageFont.truetype(path, size)
    except Exception:  # no matplotlib or no font file
        try:
            return ImageFont.load_default(size=size)
        except TypeError:  # Pillow < 10.1
            return ImageFont.load_default()


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


def _as_rgb(image: np.ndarray, channel_order: str) -> np.ndarray:
    """(H, W) / (H, W, 1) / (H, W, 3) / (H, W, 4) -> (H, W, 3) uint8 RGB."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError('Expected an (H, W), (H, W, 1), (H, W, 3) or '
                         f'(H, W, 4) image, got {image.shape}.')
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    image = image[..., :3]
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if channel_order == 'bgr':
        image = image[..., ::-1]
    elif channel_order != 'rgb':
        raise ValueError(
            f"channel_order must be 'bgr' or 'rgb', got {channel_order!r}")
    return np.ascontiguousarray(image)


def _contours(mask: np.ndarray) -> List[np.ndarray]:
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    return list(contours)


def _dashed(canvas: np.ndarray, contours: List[np.ndarray], thickness: int,
            dash: int) -> None:
    """Draw contours as alternating white / black dashes, in place."""
    for contour in contours:
        points = contour[:, 0, :]
        for start in range(0, len(points), dash):
            segment = points[start:start + dash + 1]
            color = DEFAULT_GT_COLOR if (start // dash) % 2 == 0 else _GT_DARK
            if len(segment) > 1:
                cv2.polylines(canvas, [segment.reshape(-1, 1, 2)], False,
                              color, thickness, cv2.LINE_8)


def _wrap(draw, text: str, font, max_width: int) -> List[str]:
    """Greedy word wrap so that every line fits in ``max_width`` pixels."""
    lines: List[str] = []
    current = ''
    for word in text.split():
        candidate = f'{current} {word}' if current else word
        if draw.textlength(candidate, font=font) <= max_width or not current:
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
                 channel_order: str = 'bgr',
                 pred_color: Color = DEFAULT_PRED_COLOR,
                 alpha: float = 0.15,
                 min_size: int = 384,
                 legend: bool = True) -> np.ndarray:
    """Draw a predicted mask, the ground truth and the expression.

    Args:
        image (np.ndarray): (H, W, 3) image in ``channel_order``, or (H, W),
            (H, W, 1) gray, or (H, W, 4) with alpha (dropped); uint8 (other
            dtypes are clipped to [0, 255]).
        pred_mask (np.ndarray, optional): (H, W) or (1, H, W) mask, non-zero
            for the referred object. None draws no prediction.
        gt_mask (np.ndarray, optional): (H, W) or (1, H, W) ground-truth
            mask, drawn as a dashed contour. Defaults to None.
        text (str, optional): The referring expression. Defaults to None.
        iou (float, optional): IoU of the prediction, in [0, 1], written
            under the expression. Defaults to None.
        channel_order (str): ``'bgr'`` (mmcv / cv2 images) or ``'rgb'``;
            the drawing is returned in the same order. Defaults to 'bgr'.
        pred_color (tuple[int, int, int]): RGB colour of the prediction.
            Defaults to magenta.
        alpha (float): Opacity of the prediction fill. Defaults to 0.15.
        min_size (int): Images whose long side is shorter are enlarged by
            an integer factor to reach about this size. Defaults to 384.
        legend (bool): Draw the legend of the two styles. Defaults to True.

    Returns:
        np.ndarray: (s*H + band, s*W, 3) uint8 drawing in ``channel_order``
        (s the enlargement factor); the input is not modified.
    """
    from PIL import Image, ImageDraw
    rgb = _as_rgb(image, channel_order)
    shape = rgb.shape[:2]
    pred = _to_mask(pred_mask, shape, 'pred_mask') \
        if pred_mask is not None else None
    gt = _to_mask(gt_mask, shape, 'gt_mask') if gt_mask is not None else None

    scale = max(1, int(round(min_size / max(shape))))
    if scale > 1:
        size = (shape[1] * scale, shape[0] * scale)
        rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_NEAREST)
        if pred is not None:
            pred = cv2.resize(pred.astype(np.uint8), size,
                              interpolation=cv2.INTER_NEAREST) > 0
        if gt is not None:
            gt = cv2.resize(gt.astype(np.uint8), size,
                            interpolation=cv2.INTER_NEAREST) > 0
    canvas = rgb.copy()
    height, width = canvas.shape[:2]
    line = max(2, int(round(max(height, width) / 200)))

    if pred is not None and pred.any():
        fill = np.asarray(pred_color, dtype=np.float32)
        blended = canvas[pred].astype(np.float32) * (1 - alpha) + fill * alpha
        canvas[pred] = np.round(blended).astype(np.uint8)
        cv2.drawContours(canvas, _contours(pred), -1,
                         tuple(int(c) for c in pred_color), line)
    if gt is not None and gt.any():
        _dashed(canvas, _contours(gt), line, dash=5 * line)

    # the band below the image: expression, IoU, legend
    font_px = max(14, int(round(width / 26)))
    font = _font(font_px)
    margin = max(4, font_px // 3)
    probe = ImageDraw.Draw(Image.new('RGB', (1, 1)))
    lines = _wrap(probe, text.strip(), font, width - 2 * margin) \
        if text else []
    if iou is not None:
        lines.append(f'IoU {100 * iou:.1f}')
    row_h = int(round(font_px * 1.3))
    rows = len(lines) + (1 if legend and (pred is not None
                                          or gt is not None) else 0)
    band_h = margin * 2 + row_h * rows if rows else 0
    band = Image.new('RGB', (width, band_h), _BAND_BG)
    draw = ImageDraw.Draw(band)
    y = margin
    for text_line in lines:
        draw.text((margin, y), text_line, fill=_TEXT, font=font)
        y += row_h
    if rows > len(lines):
        x = margin
        box = font_px
        if pred_mask is not None:
            light = tuple(int(round(255 * (1 - alpha) + c * alpha))
                          for c in pred_color)
            draw.rectangle([x, y + 2, x + box, y + box], fill=light,
                           outline=tuple(pred_color), width=line)
            x += box + margin
            draw.text((x, y), 'prediction', fill=_TEXT, font=font)
            x += int(draw.textlength('prediction', font=font)) + 2 * margin
        if gt_mask is not None:
            dash = max(3, box // 4)
            for i in range(0, box, dash):
                color = _GT_DARK if (i // dash) % 2 else (170, 170, 170)
                end = min(box, i + dash)
                for yy in (y + 2, y + box):
                    draw.line([x + i, yy, x + end, yy], fill=color,
                              width=line)
                draw.line([x, y + 2 + i, x, y + 2 + min(box - 2, i + dash)],
                          fill=color, width=line)
                draw.line([x + box, y + 2 + i,
                           x + box, y + 2 + min(box - 2, i + dash)],
                          fill=color, width=line)
            x += box + margin
            draw.text((x, y), 'ground truth', fill=_TEXT, font=font)
    out = np.concatenate([canvas, np.asarray(band)], axis=0) \
        if band_h else canvas
    return np.ascontiguousarray(out[..., ::-1] if channel_order == 'bgr'
                                else out)
