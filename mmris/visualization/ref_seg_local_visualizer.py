"""mmengine ``Visualizer`` for referring-segmentation data samples."""
from typing import Optional

import mmcv
import numpy as np
from mmengine.dist import master_only
from mmengine.visualization import Visualizer
from mmseg.structures import SegDataSample

from mmris.registry import VISUALIZERS
from .ref_seg_visualizer import draw_ref_seg

__all__ = ['RefSegLocalVisualizer']


@VISUALIZERS.register_module()
class RefSegLocalVisualizer(Visualizer):
    """Visualizer that draws a sample with :func:`draw_ref_seg`.

    A drop-in replacement for mmseg's ``SegLocalVisualizer`` in configs
    (``visualizer = dict(type='RefSegLocalVisualizer', vis_backends=...)``),
    so that mmseg's ``SegVisualizationHook`` and ``--show`` draw the
    expression, the predicted mask and the ground-truth contour (see
    :func:`draw_ref_seg`; the drawing is enlarged with a caption band)
    and send the drawing to the configured vis backends. Images follow
    mmengine's RGB convention.

    Args:
        name (str): Name of the instance. Defaults to 'visualizer'.
        alpha (float): Opacity of the prediction fill. Defaults to 0.15.
        **kwargs: Other arguments of :class:`mmengine.visualization.
            Visualizer` (``vis_backends``, ``save_dir`` ...).
    """

    def __init__(self,
                 name: str = 'visualizer',
                 alpha: float = 0.15,
                 **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.alpha = alpha

    @master_only
    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample: Optional[SegDataSample] = None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0,
                       **kwargs) -> None:
        """Draw a data sample and show, save or log it.

        Args:
            name (str): Image identifier for the vis backends.
            image (np.ndarray): (H, W, 3) RGB image at the original size.
            data_sample (SegDataSample, optional): Sample with
                ``pred_sem_seg`` / ``gt_sem_seg`` (1, H, W) and ``text``.
            draw_gt (bool): Whether to outline the ground truth.
            draw_pred (bool): Whether to fill the prediction.
            show (bool): Whether to display the drawing in a window.
            wait_time (float): Display time in seconds for ``show``.
            out_file (str, optional): If set, write the drawing there
                instead of sending it to the vis backends.
            step (int): Global step for the vis backends.
            **kwargs: Ignored (accepts mmseg-specific arguments such as
                ``with_labels``).
        """
        pred = gt = None
        if data_sample is not None:
            if draw_pred and 'pred_sem_seg' in data_sample:
                pred = data_sample.pred_sem_seg.data.cpu().numpy()
            if draw_gt and 'gt_sem_seg' in data_sample:
                gt = data_sample.gt_sem_seg.data.cpu().numpy()
        text = data_sample.get('text', None) if data_sample else None
        drawing = draw_ref_seg(
            image,
            pred,
            gt,
            text=text,
            channel_order='rgb',
            alpha=self.alpha)
        self.set_image(drawing)
        if show:
            self.show(drawing, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(mmcv.rgb2bgr(drawing), out_file)
        else:
            self.add_image(name, drawing, step)
