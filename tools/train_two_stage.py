"""Train a two-stage model (RISCLIP) in one command, resuming either stage.

RISCLIP (Sec. 3.5) trains a "Locator" (stage 1) and then, from its final
checkpoint, a "Refiner" (stage 2, the decoder only). This runs both configs
in sequence with ``tools/train.py`` on one work dir::

    python tools/train_two_stage.py STAGE1_CONFIG STAGE2_CONFIG \\
        --work-dir work_dirs/risclip-b_refcoco [--gpus 4] \\
        [--cfg-options k=v ...] [--stage1-cfg-options ...] \\
        [--stage2-cfg-options ...]

Stage 1 trains in ``WORK_DIR/stage1`` and stage 2 in ``WORK_DIR/stage2``.
Run the same command again after an interruption and it continues where it
stopped:

* a stage is *complete* when its ``epoch_<max_epochs>.pth`` exists and its
  ``last_checkpoint`` names that file (MMEngine writes ``last_checkpoint``
  after the checkpoint, so a file cut short by the interruption does not
  count); a complete stage is skipped;
* an incomplete stage with a checkpoint resumes from it (``--resume``:
  model, optimizer, scheduler, epoch and iteration);
* stage 2 without a checkpoint of its own starts from stage 1's final
  checkpoint (``load_from``).

``--cfg-options`` applies to both stages, ``--stage1-cfg-options`` /
``--stage2-cfg-options`` to one. With ``--gpus N`` (N > 1) each stage runs
through ``torch.distributed.run`` with N processes (``--launcher pytorch``).
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
from typing import List, Optional

TOOLS = osp.dirname(osp.abspath(__file__))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train stage 1 then stage 2, resuming either')
    parser.add_argument('stage1_config', help='stage-1 config file')
    parser.add_argument('stage2_config', help='stage-2 config file')
    parser.add_argument('--work-dir', required=True,
                        help='work dir; stages train in stage1/ and stage2/')
    parser.add_argument('--gpus', type=int, default=1,
                        help='processes per stage (torch.distributed.run '
                        'when > 1)')
    parser.add_argument('--master-port', type=int, default=29531,
                        help='rendezvous port with --gpus > 1')
    for flag in ('--cfg-options', '--stage1-cfg-options',
                 '--stage2-cfg-options'):
        parser.add_argument(flag, nargs='+', default=[],
                            help='key=value overrides (as tools/train.py)')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the commands without running them')
    return parser.parse_args(argv)


def max_epochs_of(config: str, options: List[str]) -> int:
    """``train_cfg.max_epochs`` of a config after ``key=value`` overrides."""
    from mmengine.config import Config, DictAction
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config}')
    cfg = Config.fromfile(config)
    if options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--o', *options]).o)
    train_cfg = cfg.get('train_cfg') or {}
    if 'max_epochs' not in train_cfg:
        raise ValueError(f'{config}: train_cfg.max_epochs is not set; '
                         'the two-stage tool needs epoch-based stages')
    return int(train_cfg['max_epochs'])


def last_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint named by ``work_dir/last_checkpoint``, if it exists."""
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        return None
    with open(marker) as f:
        path = f.read().strip()
    if not path:
        return None
    if not osp.isabs(path) and not osp.isfile(path):
        path = osp.join(work_dir, osp.basename(path))
    return path if osp.isfile(path) else None


def final_checkpoint(work_dir: str, max_epochs: int) -> Optional[str]:
    """The stage's final checkpoint if the stage is complete, else None."""
    final = osp.join(work_dir, f'epoch_{max_epochs}.pth')
    latest = last_checkpoint(work_dir)
    if latest is None or not osp.isfile(final):
        return None
    if osp.abspath(latest) != osp.abspath(final) and osp.basename(
            latest) != osp.basename(final):
        return None
    return final


def train_command(config: str, work_dir: str, options: List[str],
                  resume: bool, gpus: int, port: int) -> List[str]:
    """The ``tools/train.py`` command line of one stage."""
    cmd = [sys.executable]
    if gpus > 1:
        cmd += ['-m', 'torch.distributed.run', f'--nproc_per_node={gpus}',
                f'--master_port={port}']
    cmd += [osp.join(TOOLS, 'train.py'), config, '--work-dir', work_dir]
    if gpus > 1:
        cmd += ['--launcher', 'pytorch']
    if resume:
        cmd.append('--resume')
    if options:
        cmd += ['--cfg-options', *options]
    return cmd


def run_stage(name: str, config: str, work_dir: str, options: List[str],
              args: argparse.Namespace,
              load_from: Optional[str] = None) -> str:
    """Run (or resume, or skip) one stage; return its final checkpoint."""
    max_epochs = max_epochs_of(config, options)
    final = final_checkpoint(work_dir, max_epochs)
    if final is not None:
        print(f'[two-stage] {name} is complete ({final}); skipping it',
              flush=True)
        return final
    resume = last_checkpoint(work_dir) is not None
    if not resume and load_from is not None:
        options = [*options, f'load_from={load_from}']
    cmd = train_command(config, work_dir, options, resume, args.gpus,
                        args.master_port)
    state = 'resuming' if resume else 'starting'
    print(f'[two-stage] {state} {name}: {" ".join(cmd)}', flush=True)
    if args.dry_run:
        return osp.join(work_dir, f'epoch_{max_epochs}.pth')
    os.makedirs(work_dir, exist_ok=True)
    ret = subprocess.call(cmd)
    if ret != 0:
        raise SystemExit(ret)
    final = final_checkpoint(work_dir, max_epochs)
    if final is None:
        raise RuntimeError(f'{name} finished without {work_dir}/epoch_'
                           f'{max_epochs}.pth; check the log in {work_dir}')
    return final


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    stage1_dir = osp.join(args.work_dir, 'stage1')
    stage2_dir = osp.join(args.work_dir, 'stage2')
    final1 = run_stage('stage 1', args.stage1_config, stage1_dir,
                       [*args.cfg_options, *args.stage1_cfg_options], args)
    final2 = run_stage('stage 2', args.stage2_config, stage2_dir,
                       [*args.cfg_options, *args.stage2_cfg_options], args,
                       load_from=osp.abspath(final1))
    print(f'[two-stage] done: {final2}', flush=True)


if __name__ == '__main__':
    main()
