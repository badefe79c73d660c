"""Hook that saves referring-segmentation predictions drawn on their images."""
import os.path as osp
from typing import Optional, Sequence

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmseg.structures import SegDataSample

from mmris.registry import HOOKS
from mmris.visualization import draw_ref_seg

__all__ = ['RefSegVisualizationHook']


@HOOKS.register_module()
class RefSegVisualizationHook(Hook):
    """Draw test predictions with their expression and save them as JPEGs.

    For every output sample of a test iteration the original image is read
    from ``img_path``, the predicted mask is blended in as a translucent
    fill with its contour, the ground-truth mask (when present) is a dashed
    contour, and the expression, the sample's IoU and a legend are written
    in a band under the (enlarged, if small) image (see
    :func:`~mmris.visualization.draw_ref_seg`). The drawing goes to
    ``{show_dir}/{split}/{ref_id}_{sent_id}.jpg``; at the end of the test
    the number of drawings and their folder are logged.

    Like mmseg's ``SegVisualizationHook`` nothing is drawn unless ``draw`` is
    True, and only every ``interval``-th iteration is drawn. Validation and
    training iterations are not drawn. Under DDP each rank draws its own
    samples, so ``max_samples`` is counted per rank. When a sample has both
    masks empty its IoU is shown as 1.0, like ``RefSegMetric``'s default.

    Args:
        draw (bool): Whether to draw at all. Defaults to False.
        interval (int): Draw every ``interval`` test iterations (batches).
            Defaults to 1.
        show_dir (str, optional): Output folder. A relative path is taken
            relative to ``runner.work_dir``; None means
            ``{runner.work_dir}/{runner.timestamp}/vis``. Defaults to None.
        max_samples (int, optional): Stop after drawing this many samples
            (per rank, per test run). None draws all. Defaults to None.
        show (bool): Also display each drawing in a window (needs a
            display). With ``show=True`` and no ``show_dir`` the drawings
            are only displayed, not written, as in mmseg. Defaults to False.
        wait_time (float): Seconds each displayed drawing stays up; 0 waits
            for a key press. Defaults to 0.
        backend_args (dict, optional): File backend arguments used to read
            the images. Defaults to None.
    """

    def __init__(self,
                 draw: bool = False,
                 interval: int = 1,
                 show_dir: Optional[str] = None,
                 max_samples: Optional[int] = None,
                 show: bool = False,
                 wait_time: float = 0.,
                 backend_args: Optional[dict] = None) -> None:
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}.')
        if max_samples is not None and max_samples < 0:
            raise ValueError(
                f'max_samples must be >= 0 or None, got {max_samples}.')
        self.draw = draw
        self.interval = interval
        self.show_dir = show_dir
        self.max_samples = max_samples
        self.show = show
        self.wait_time = wait_time
        self.backend_args = backend_args.copy() if backend_args else None
        self._out_dir: Optional[str] = None
        self._num_drawn = 0

    def before_test(self, runner) -> None:
        """Resolve the output folder and reset the sample counter."""
        self._num_drawn = 0
        self._out_dir = self._resolve_out_dir(runner)

    def after_test(self, runner) -> None:
        """Say how many overlays were written, and where."""
        if self.draw and self._num_drawn and \
                (not self.show or self.show_dir is not None):
            print_log(
                f'{type(self).__name__}: wrote {self._num_drawn} overlays to '
                f'{self._out_dir}/<split>/', logger='current')

    def _resolve_out_dir(self, runner) -> str:
        if self.show_dir is None:
            return osp.join(runner.work_dir, str(runner.timestamp), 'vis')
        return osp.join(runner.work_dir, self.show_dir)  # absolute wins

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: Optional[dict] = None,
                        outputs: Optional[Sequence[SegDataSample]] = None
                        ) -> None:
        """Draw and save the samples of every ``interval``-th test batch.

        Args:
            runner (Runner): The runner of the test loop.
            batch_idx (int): Index of the batch in the test loop.
            data_batch (dict, optional): The batch from the dataloader.
            outputs (Sequence[SegDataSample], optional): Model outputs with
                ``pred_sem_seg`` (1, H, W) at the original resolution,
                optionally ``gt_sem_seg``, and the metainfo ``img_path``,
                ``text``, ``split``, ``ref_id``, ``sent_id``.
        """
        if not self.draw or not outputs:
            return
        if not self.every_n_inner_iters(batch_idx, self.interval):
            return
        if self._out_dir is None:
            self._out_dir = self._resolve_out_dir(runner)
        for i, sample in enumerate(outputs):
            if self.max_samples is not None and \
                    self._num_drawn >= self.max_samples:
                return
            self._draw_sample(sample, fallback=f'{batch_idx}_{i}')
            self._num_drawn += 1

    def _draw_sample(self, sample: SegDataSample, fallback: str) -> None:
        """Draw one sample and write it to disk."""
        pred = sample.pred_sem_seg.data.squeeze(0).cpu().numpy() > 0
        gt = None
        if 'gt_sem_seg' in sample:
            gt = sample.gt_sem_seg.data.squeeze(0).cpu().numpy() > 0
        iou = None
        if gt is not None and gt.shape == pred.shape:
            union = np.logical_or(pred, gt).sum()
            iou = float(np.logical_and(pred, gt).sum() / union) \
                if union > 0 else 1.0

        img_path = sample.img_path
        img_bytes = fileio.get(img_path, backend_args=self.backend_args)
        image = mmcv.imfrombytes(img_bytes, flag='color')  # BGR, 3 channels
        if image.shape[:2] != pred.shape:
            print_log(
                f'{type(self).__name__}: image {img_path} is '
                f'{image.shape[:2]} but the prediction is {pred.shape}; '
                'resizing the image for drawing.',
                logger='current')
            image = mmcv.imresize(image, (pred.shape[1], pred.shape[0]))
        if gt is not None and gt.shape != pred.shape:
            gt = None

        drawing = draw_ref_seg(
            image, pred, gt, text=sample.get('text', None), iou=iou)
        split = str(sample.get('split', None) or 'default')
        name = self._sample_name(sample, fallback)
        if self.show:
            mmcv.imshow(drawing, f'{split}/{name}',
                        int(round(self.wait_time * 1000)))
        if not self.show or self.show_dir is not None:
            mmcv.imwrite(drawing, osp.join(self._out_dir, split, f'{name}.jpg'))

    @staticmethod
    def _sample_name(sample: SegDataSample, fallback: str) -> str:
        """``"{ref_id}_{sent_id}"``, else ``ref_id``, else the image stem."""
        ref_id = sample.get('ref_id', None)
        sent_id = sample.get('sent_id', None)
        if ref_id is not None and sent_id is not None:
            return f'{ref_id}_{sent_id}'
        if ref_id is not None:
            return str(ref_id)
        img_path = sample.get('img_path', None)
        stem = osp.splitext(osp.basename(img_path))[0] if img_path else ''
        return f'{stem}_{fallback}' if stem else fallback
