"""Measure the training speed and peak memory of any mmris config.

    python tools/analysis_tools/benchmark_train.py CONFIG [--batch-size 2] \\
        [--amp config|fp32|fp16|bf16] [--warmup 2] [--iters 5] \\
        [--device cuda|cpu] [--threads N] [--shape H W] [--json PATH] \\
        [--cfg-options ...]

The runner's path: the model is built from ``cfg.model`` (random weights,
``init_weights()``), the optim wrapper from ``cfg.optim_wrapper`` with the
config's optimizer, parameter groups and constructor
(``mmengine.optim.build_optim_wrapper``), and every iteration is
``model.train_step(batch, optim_wrapper)`` (data preprocessor, forward, loss,
backward, optimizer step). The batch is synthetic: random COCO-sized images
with a rectangular mask through the config's own training pipeline (not
timed). ``--amp`` picks the wrapper's precision: ``config`` keeps the
config's wrapper, ``fp16`` / ``bf16`` use ``AmpOptimWrapper`` with that dtype
(GPU only), ``fp32`` a plain ``OptimWrapper``. After ``--warmup`` untimed
iterations, prints the median of ``--iters`` timed ones as samples/s, the
process's CPU time, and the peak memory (``torch.cuda.max_memory_allocated``
on a GPU, peak RSS on a CPU).
"""
import argparse

import mmris  # noqa: F401

from mmris.utils.benchmark_utils import (
    AMP_CHOICES, add_benchmark_args, build_bench_optim_wrapper,
    build_train_model, check_amp_device, check_benchmark_args,
    describe_environment, environment_info, load_bench_config,
    make_train_batch, peak_memory_mb, reset_peak_memory, write_json,
    set_threads, summarize, time_iterations)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_benchmark_args(parser, batch_size=2, iters=5)
    parser.add_argument('--amp', choices=AMP_CHOICES, default='config',
                        help='precision of the optim wrapper (fp16 / bf16 '
                        'need a GPU)')
    args = parser.parse_args(argv)
    check_benchmark_args(parser, args)
    try:
        check_amp_device(args.amp, args.device)
    except ValueError as e:
        parser.error(str(e))
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    set_threads(args.threads)
    cfg = load_bench_config(args.config, args.cfg_options,
                            input_size=args.input_size)
    model = build_train_model(cfg, args.device)
    optim_wrapper = build_bench_optim_wrapper(model, cfg, args.amp,
                                              args.device)
    batch = make_train_batch(cfg, args.batch_size, tuple(args.shape))
    losses = []

    def step():
        log_vars = model.train_step(batch, optim_wrapper)
        losses.append(float(log_vars['loss'].detach()))

    reset_peak_memory(args.device)
    times = time_iterations(step, args.warmup, args.iters, args.device)
    peak_mb, peak_kind = peak_memory_mb(args.device)
    env = environment_info(args.device)
    result = dict(
        config=args.config,
        batch_size=args.batch_size,
        amp=args.amp,
        optim_wrapper=type(optim_wrapper).__name__,
        param_groups=len(optim_wrapper.optimizer.param_groups),
        input_shape=list(batch['data_samples'][0].img_shape),
        warmup=args.warmup,
        iters=args.iters,
        peak_memory_mb=peak_mb,
        peak_memory_kind=peak_kind,
        last_loss=losses[-1],
        env=env,
        **summarize(times, args.batch_size))
    if not all(map(lambda v: v == v, losses)):  # NaN check
        print('WARNING: a loss was NaN')
    print(f'config: {args.config}; batch {args.batch_size}; input '
          f'{result["input_shape"]}; {result["optim_wrapper"]} ({args.amp}, '
          f'{result["param_groups"]} parameter groups); {args.warmup} warm-up '
          f'+ {args.iters} timed train_step(s)')
    print(describe_environment(env))
    first = ('' if result['first_iter_s'] is None else
             f'; first (warm-up) iteration {result["first_iter_s"]:.3f} s')
    print(f'train: {result["samples_per_s"]:.3f} samples/s; median '
          f'{result["median_s"]:.3f} s/iter wall, '
          f'{result["median_cpu_s"]:.3f} s CPU{first}')
    print(f'peak memory: {peak_mb:.0f} MiB ({peak_kind})')
    write_json(args.json, result)
    return result


if __name__ == '__main__':
    main()
