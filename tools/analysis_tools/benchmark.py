"""Measure the inference throughput of any mmris model.

    python tools/analysis_tools/benchmark.py CONFIG [--checkpoint CKPT] \\
        [--batch-size 8] [--warmup 2] [--iters 10] [--device cuda|cpu] \\
        [--threads N] [--shape H W] [--input-size H W] [--json PATH]

Times ``model.test_step`` (data preprocessor, backbone, neck, head and the
post-processing of the masks back to the original image size) at batch 1
and at ``--batch-size``, on random images of ``--shape`` (default a
COCO-sized 480x640, letterboxed by the config's test pipeline, which is not
timed) with one expression each. Without ``--checkpoint`` the weights are
random (the speed does not depend on them). The first ``--warmup`` batches
are not timed (the first one, reported apart, builds kernels and caches);
the figures are the median of ``--iters`` timed batches, with the process's
CPU time, the thread count and the load average beside them: on a shared
CPU, more threads than free cores inflate the wall time several-fold (an
earlier 49 s/image for CRIS-R50 at 416 px was wall time on a machine loaded
far beyond its cores; the same image costs about 2 s of CPU time, and on a
busy 2-core machine 2 threads measured 10.4 s wall against 3.2 s with one),
so pass ``--threads`` to match the free cores. Peak memory is
``torch.cuda.max_memory_allocated`` on a GPU and the process's peak RSS on
a CPU. ``--input-size`` builds the model for another network input size
(same widths and depths, see
:func:`mmris.utils.analysis_utils.set_input_size`). BEiT-3 configs need
their sentencepiece model (``--cfg-options model.backbone.spm_path=...``).
"""
import argparse

import mmris  # noqa: F401
import torch

from mmris.apis import init_model
from mmris.utils.benchmark_utils import (
    add_benchmark_args, check_benchmark_args, describe_environment,
    environment_info, load_bench_config, make_test_batch, peak_memory_mb,
    reset_peak_memory, write_json, set_threads, summarize, time_iterations)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_benchmark_args(parser, batch_size=8, iters=10,
                       batch_help='the batched run (batch 1 is always '
                       'measured)')
    parser.add_argument('--checkpoint', help='weights (optional)')
    parser.add_argument('--text', default='the man on the left in a red shirt')
    args = parser.parse_args(argv)
    check_benchmark_args(parser, args)
    return args


def measure(model, batch_size: int, args) -> dict:
    """Median figures of ``test_step`` at one batch size."""
    batch = make_test_batch(model.cfg, batch_size, tuple(args.shape),
                            (args.text, ))
    outputs = []

    def step():
        outputs[:] = model.test_step(batch)

    reset_peak_memory(args.device)
    with torch.no_grad():
        times = time_iterations(step, args.warmup, args.iters, args.device)
    pred_shape = list(outputs[0].pred_sem_seg.shape)
    if pred_shape != list(args.shape):
        raise RuntimeError(f'test_step returned masks of {pred_shape}, not '
                           f'the original size {args.shape}')
    peak_mb, peak_kind = peak_memory_mb(args.device)
    result = summarize(times, batch_size)
    result.update(
        batch_size=batch_size,
        ms_per_image=1000 * result['median_s'] / batch_size,
        cpu_ms_per_image=1000 * result['median_cpu_s'] / batch_size,
        input_shape=list(batch['data_samples'][0].img_shape),
        pred_shape=pred_shape,
        peak_memory_mb=peak_mb,
        peak_memory_kind=peak_kind)
    return result


def main(argv=None) -> dict:
    args = parse_args(argv)
    set_threads(args.threads)
    cfg = load_bench_config(args.config, args.cfg_options,
                            input_size=args.input_size)
    model = init_model(cfg, args.checkpoint, device=args.device)
    sizes = sorted({1, args.batch_size})
    runs = {str(n): measure(model, n, args) for n in sizes}
    env = environment_info(args.device)
    print(f'config: {args.config}; image {args.shape[0]}x{args.shape[1]} -> '
          f'input {runs["1"]["input_shape"]}; {args.warmup} warm-up + '
          f'{args.iters} timed test_step batches per batch size')
    print(describe_environment(env))
    for n, run in runs.items():
        print(f'batch {n}: {run["samples_per_s"]:.2f} images/s; '
              f'{run["ms_per_image"]:.1f} ms/image wall, '
              f'{run["cpu_ms_per_image"]:.1f} ms CPU (median); first '
              f'batch {run["first_iter_s"] or float("nan"):.3f} s; peak '
              f'memory {run["peak_memory_mb"]:.0f} MiB '
              f'({run["peak_memory_kind"]})')
    batched = runs[str(args.batch_size)]
    result = dict(
        config=args.config,
        device=args.device,
        batch_size=args.batch_size,
        images_per_s=batched['samples_per_s'],
        ms_per_image=batched['ms_per_image'],
        batch1_images_per_s=runs['1']['samples_per_s'],
        image_shape=list(args.shape),
        input_shape=runs['1']['input_shape'],
        runs=runs,
        env=env)
    write_json(args.json, result)
    return result


if __name__ == '__main__':
    main()
