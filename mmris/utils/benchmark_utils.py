"""What the benchmark tools share: configs, synthetic batches, timing.

``tools/analysis_tools/benchmark.py`` (inference through ``test_step``),
``benchmark_train.py`` (``train_step`` with the config's optim wrapper) and
``benchmark_public.py`` (the same beside the authors' code) build models the
way MMEngine's runner does and time them the same way: untimed warm-up
iterations, then the median of per-iteration wall times, with the CPU time of
the process, the number of threads and the load average reported beside them
(on a shared CPU machine, threads competing with other processes inflate
wall time several-fold; the CPU time shows it).
"""
import argparse
import os
import platform
import resource
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config

from mmris.utils.benchmark_report import write_json

__all__ = [
    'load_bench_config', 'build_train_model', 'build_bench_optim_wrapper',
    'make_train_batch', 'make_test_batch', 'time_iterations',
    'reset_peak_memory', 'peak_memory_mb', 'environment_info',
    'AMP_CHOICES', 'check_amp_device', 'set_threads', 'describe_environment',
    'summarize', 'write_json'
]

#: ``--amp`` values: precision of the optim wrapper (``config`` keeps the
#: config's own wrapper, e.g. ``AutoAmpOptimWrapper``).
AMP_CHOICES = ('config', 'fp32', 'fp16', 'bf16')
_AMP_DTYPES = {'fp16': 'float16', 'bf16': 'bfloat16'}
_AMP_ONLY_ARGS = ('loss_scale', 'dtype', 'use_fsdp')
#: A polygon covering the centre of the image (fractions of W, H).
_BOX = (0.25, 0.3, 0.7, 0.8)


def add_benchmark_args(parser: argparse.ArgumentParser, batch_size: int,
                       iters: int, batch_help: str = '') -> None:
    """The arguments every config benchmark takes: ``config``,
    ``--batch-size``, ``--warmup``, ``--iters``, ``--device``, ``--threads``,
    ``--shape`` (original image size), ``--json`` and ``--cfg-options``."""
    from mmengine.config import DictAction
    parser.add_argument('config', help='config file or name under configs/')
    parser.add_argument('--batch-size', type=int, default=batch_size,
                        help=batch_help)
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed iterations first')
    parser.add_argument('--iters', type=int, default=iters,
                        help='timed iterations (the median is reported)')
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--threads', type=int,
                        help='torch intra-op threads (default: torch\'s)')
    parser.add_argument('--shape', type=int, nargs=2, default=[480, 640],
                        metavar=('H', 'W'),
                        help='size of the synthetic original images')
    parser.add_argument('--input-size', type=int, nargs=2,
                        metavar=('H', 'W'),
                        help='network input size (default: the config\'s; '
                        'same widths and depths)')
    parser.add_argument('--json', help='also write the result here')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config')


def check_benchmark_args(parser: argparse.ArgumentParser,
                         args: argparse.Namespace) -> None:
    """Exit with the parser's message on counts out of range."""
    for name in ('batch_size', 'iters'):
        if getattr(args, name) < 1:
            parser.error(f'--{name.replace("_", "-")} must be >= 1')
    if args.warmup < 0:
        parser.error('--warmup must be >= 0')
    if args.threads is not None and args.threads < 1:
        parser.error('--threads must be >= 1')


def set_threads(threads: Optional[int]) -> int:
    """Set torch's intra-op threads (None keeps the default) and return the
    number in use."""
    if threads is not None:
        if threads < 1:
            raise ValueError(f'--threads must be >= 1, got {threads}')
        torch.set_num_threads(threads)
    return torch.get_num_threads()


def check_amp_device(amp: str, device: str) -> None:
    """Raise a clear error for mixed precision on a CPU.

    Args:
        amp (str): One of :data:`AMP_CHOICES`.
        device (str): ``'cpu'`` or ``'cuda[:N]'``.
    """
    if amp not in AMP_CHOICES:
        raise ValueError(f'--amp must be one of {AMP_CHOICES}, got {amp!r}')
    if amp in _AMP_DTYPES and not device.startswith('cuda'):
        raise ValueError(
            f'--amp {amp} needs a GPU (MMEngine\'s AmpOptimWrapper autocasts '
            f'on CUDA); on {device!r} only fp32 is measured: use --amp fp32 '
            '(or --amp config, which falls back to fp32 without a GPU)')


def load_bench_config(config: str,
                      cfg_options: Optional[dict] = None,
                      random_weights: bool = True,
                      input_size: Optional[Sequence[int]] = None) -> Config:
    """Load a config (file or name under ``configs/``) for benchmarking.

    Args:
        config (str): Config file or name.
        cfg_options (dict, optional): ``--cfg-options`` overrides (an unknown
            top-level key is an error).
        random_weights (bool): Drop the backbone's ``pretrained`` file so
            that the model is built with random weights (timings do not
            depend on the values). Defaults to True.
        input_size (Sequence[int], optional): Network input (H, W) for
            :func:`mmris.utils.analysis_utils.set_input_size`.

    Returns:
        Config: The merged config, default scope initialised.
    """
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope

    from mmris.utils import register_all_modules
    from mmris.utils.analysis_utils import load_config
    cfg = load_config(config, cfg_options, input_size)
    if random_weights and 'pretrained' in cfg.model.get('backbone', {}):
        cfg.model.backbone.pretrained = None
    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'mmris'))
    # the current logger: warnings only (not one line per parameter from
    # init_weights and the optimizer constructor)
    if not MMLogger.check_instance_created('mmris_benchmark'):
        MMLogger.get_instance('mmris_benchmark', log_level='WARNING')
    return cfg


def build_train_model(cfg: Config, device: str) -> nn.Module:
    """Build ``cfg.model`` as MMEngine's runner does for training.

    ``MODELS.build``, ``init_weights()``, moved to ``device``, train mode.
    """
    from mmris.registry import MODELS
    model = MODELS.build(cfg.model)
    if hasattr(model, 'init_weights'):
        model.init_weights()
    model.cfg = cfg
    return model.to(device).train()


def build_bench_optim_wrapper(model: nn.Module, cfg: Config, amp: str,
                              device: str):
    """The config's optim wrapper, at the precision ``amp`` asks for.

    The optimizer, its parameter groups (``paramwise_cfg``, ``constructor``)
    and gradient clipping are the config's; only the wrapper type changes:
    ``fp32`` -> ``OptimWrapper``, ``fp16`` / ``bf16`` -> ``AmpOptimWrapper``
    with that ``dtype`` (dynamic loss scaling for fp16), ``config`` -> the
    config's wrapper unchanged.

    Args:
        model (nn.Module): The model (on its device).
        cfg (Config): Config with ``optim_wrapper``.
        amp (str): One of :data:`AMP_CHOICES`.
        device (str): The model's device (AMP needs CUDA).

    Returns:
        OptimWrapper: Built by :func:`mmengine.optim.build_optim_wrapper`.
    """
    from mmengine.optim import build_optim_wrapper
    check_amp_device(amp, device)
    if 'optim_wrapper' not in cfg:
        raise KeyError('the config has no optim_wrapper')
    wrapper_cfg = cfg.optim_wrapper.copy()
    if amp == 'fp32':
        wrapper_cfg['type'] = 'OptimWrapper'
        for key in _AMP_ONLY_ARGS:
            wrapper_cfg.pop(key, None)
    elif amp in _AMP_DTYPES:
        wrapper_cfg['type'] = 'AmpOptimWrapper'
        wrapper_cfg['dtype'] = _AMP_DTYPES[amp]
        if amp == 'fp16':
            wrapper_cfg.setdefault('loss_scale', 'dynamic')
    return build_optim_wrapper(model, wrapper_cfg)


def _pipeline_steps(cfg: Config, which: str) -> list:
    """``cfg.<which>_dataloader``'s pipeline (through dataset wrappers)."""
    dataset = cfg[f'{which}_dataloader'].dataset
    while 'pipeline' not in dataset:
        inner = dataset.get('datasets') or [dataset.get('dataset')]
        if not inner or inner[0] is None:
            raise KeyError(f'no pipeline found in cfg.{which}_dataloader')
        dataset = inner[0]
    return list(dataset.pipeline)


def _random_images(n: int, image_hw: Tuple[int, int],
                   seed: int) -> List[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        rng.integers(0, 256, (*image_hw, 3), dtype=np.uint8) for _ in range(n)
    ]


def make_train_batch(cfg: Config,
                     batch_size: int,
                     image_hw: Tuple[int, int] = (480, 640),
                     texts: Sequence[str] = ('the man on the left', ),
                     seed: int = 0) -> dict:
    """A collated training batch from the config's train pipeline.

    Random BGR images of ``image_hw`` with a rectangular object mask (COCO
    polygon) go through ``cfg.train_dataloader``'s pipeline, the file loader
    replaced by one from arrays, so the batch has the size, text and
    augmentation of real training. ``train_step`` preprocesses it.

    Args:
        cfg (Config): The config.
        batch_size (int): Samples.
        image_hw (tuple): (H, W) of the original images. Defaults to a
            COCO-like 480x640.
        texts (Sequence[str]): Expressions, cycled over the batch.
        seed (int): Seed of the images and of the random augmentation.

    Returns:
        dict: ``inputs`` (list of uint8 tensors) and ``data_samples``.
    """
    from mmcv.transforms import Compose
    from mmengine.dataset import pseudo_collate
    steps = []
    for step in _pipeline_steps(cfg, 'train'):
        if step['type'] in ('LoadRefImageFromFile', 'LoadImageFromFile'):
            step = dict(type='LoadImageFromNDArray')
        steps.append(step)
    pipeline = Compose(steps)
    height, width = image_hw
    x1, y1, x2, y2 = (_BOX[0] * width, _BOX[1] * height, _BOX[2] * width,
                      _BOX[3] * height)
    polygon = [[x1, y1, x2, y1, x2, y2, x1, y2]]
    np.random.seed(seed)  # the random transforms use numpy's global state
    items = []
    for i, img in enumerate(_random_images(batch_size, image_hw, seed)):
        items.append(
            pipeline(
                dict(
                    img=img,
                    img_path=f'<synthetic {i}>',
                    ref_mask=dict(
                        segmentation=polygon, height=height, width=width),
                    text=texts[i % len(texts)],
                    ref_id=i,
                    sent_id=i)))
    return pseudo_collate(items)


def make_test_batch(cfg: Config,
                    batch_size: int,
                    image_hw: Tuple[int, int] = (480, 640),
                    texts: Sequence[str] = ('the man on the left', ),
                    seed: int = 0) -> dict:
    """A collated batch from the config's test pipeline (images from
    arrays, no ground truth), for ``test_step``; its predictions are
    resized back to ``image_hw``."""
    from mmengine.dataset import pseudo_collate

    from mmris.apis.inference import build_test_pipeline
    pipeline = build_test_pipeline(cfg, from_array=True)
    return pseudo_collate([
        pipeline(
            dict(img=img, text=texts[i % len(texts)], ref_id=i, sent_id=i))
        for i, img in enumerate(_random_images(batch_size, image_hw, seed))
    ])


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize(device)


def time_iterations(fn: Callable[[], object], warmup: int, iters: int,
                    device: str) -> Dict[str, List[float]]:
    """Run ``fn`` ``warmup`` times untimed, then ``iters`` times timed.

    Args:
        fn (callable): One iteration.
        warmup (int): Untimed iterations (the first one builds kernels,
            allocator pools and lazy state, and is reported apart).
        iters (int): Timed iterations.
        device (str): CUDA devices are synchronised around each iteration.

    Returns:
        dict: ``wall`` and ``cpu`` (process CPU time) seconds of every timed
        iteration, and ``first`` (wall seconds of the first warm-up
        iteration, None without warm-up).
    """
    first = None
    for i in range(warmup):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        if i == 0:
            first = time.perf_counter() - start
    wall, cpu = [], []
    for _ in range(iters):
        _sync(device)
        start, cpu_start = time.perf_counter(), time.process_time()
        fn()
        _sync(device)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    return dict(wall=wall, cpu=cpu, first=first)


def reset_peak_memory(device: str) -> None:
    """Start a new peak of allocated memory (CUDA only; the CPU peak RSS is
    the process's own and cannot be reset)."""
    if device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_mb(device: str) -> Tuple[float, str]:
    """Peak memory in MiB and what it measures.

    On CUDA ``torch.cuda.max_memory_allocated`` since the last
    :func:`reset_peak_memory`; on CPU the process's peak resident set size
    (``resource.getrusage``, which includes building the model).
    """
    if device.startswith('cuda'):
        return (torch.cuda.max_memory_allocated(device) / 2**20,
                'torch.cuda.max_memory_allocated')
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if platform.system() == 'Darwin':  # bytes there, KiB on Linux
        rss_kb /= 1024
    return rss_kb / 1024, 'peak RSS of the process'


def environment_info(device: str) -> dict:
    """Threads, load and device, to print and store beside the figures."""
    info = dict(
        device=device,
        torch=torch.__version__,
        threads=torch.get_num_threads(),
        cpu_count=os.cpu_count(),
        omp_num_threads=os.environ.get('OMP_NUM_THREADS'))
    try:
        info['load_average'] = [round(v, 2) for v in os.getloadavg()]
    except OSError:  # not on every platform
        info['load_average'] = None
    if device.startswith('cuda'):
        info['device_name'] = torch.cuda.get_device_name(device)
    return info


def describe_environment(info: dict) -> str:
    """One line of :func:`environment_info` for the console."""
    line = (f'device {info["device"]}'
            + (f' ({info["device_name"]})' if 'device_name' in info else '')
            + f'; torch {info["torch"]}; {info["threads"]} thread(s) of '
            f'{info["cpu_count"]} CPUs; load average {info["load_average"]}')
    if info['device'] == 'cpu' and info['load_average'] and \
            info['load_average'][0] > (info['cpu_count'] or 1):
        line += (' -- the machine is busier than its CPU count: wall '
                 'times are inflated, compare the CPU times')
    return line


def summarize(times: Dict[str, List[float]], samples: int) -> dict:
    """Medians of :func:`time_iterations`'s output and samples/s."""
    wall = float(np.median(times['wall']))
    cpu = float(np.median(times['cpu']))
    return dict(
        median_s=wall,
        median_cpu_s=cpu,
        samples_per_s=samples / wall,
        iter_s=[round(t, 5) for t in times['wall']],
        first_iter_s=times['first'])
