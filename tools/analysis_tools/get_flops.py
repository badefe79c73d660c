"""Count the FLOPs and parameters of any mmris model on image + text input.

    python tools/analysis_tools/get_flops.py CONFIG [--shape H W] \\
        [--input-size H W] [--text "the man on the left"] [--batch-size 1] \\
        [--depth 3] [--cfg-options ...]

Uses MMEngine's complexity counter (``mmengine.analysis``) on the model's
``_forward`` (backbone -> neck -> head, no post-processing) with a random
image (of the configured input size, or ``--shape``) put through the
config's own test pipeline (which letterboxes it to the input size) and data
preprocessor, and the expression tokenised by the model's own tokenizer
(BEiT-3 configs need their sentencepiece model: ``--cfg-options
model.backbone.spm_path=...``). ``--input-size`` builds the model for
another network input size (see
:func:`mmris.utils.analysis_utils.set_input_size`): same widths and depths,
e.g. for a quick count on CPU. Prints the totals and the per-module table
(``--depth`` levels, rooted at the segmentor). FLOPs count one multiply-add
as one FLOP (MMEngine / fvcore convention); the tokenizer and mask
post-processing are not counted.
"""
import argparse
import json

import mmris  # noqa: F401
import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.analysis.print_helper import complexity_stats_table
from mmengine.config import DictAction

from mmris.apis import init_model
from mmris.utils.analysis_utils import TextBoundModel, load_config, make_batch


def _human(value: float) -> str:
    for unit, scale in (('T', 1e12), ('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if value >= scale:
            return f'{value / scale:.3f}{unit}'
    return str(value)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file or name under configs/')
    parser.add_argument(
        '--shape', type=int, nargs=2, metavar=('H', 'W'),
        help='size of the random image before the test pipeline '
        '(default: the input size)')
    parser.add_argument(
        '--input-size', type=int, nargs=2, metavar=('H', 'W'),
        help='network input size (default: the config\'s; see '
        'mmris.utils.analysis_utils.set_input_size)')
    parser.add_argument(
        '--text', default='the person on the left in a red shirt',
        help='the expression')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument(
        '--depth', type=int, default=3, help='depth of the per-module table')
    parser.add_argument('--checkpoint', help='weights (do not change FLOPs)')
    parser.add_argument('--json', help='also write the totals here')
    parser.add_argument(
        '--cfg-options', nargs='+', default=None,
        action=DictAction)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    model = init_model(load_config(args.config, args.cfg_options,
                                   args.input_size),
                       args.checkpoint, device='cpu')
    batch = make_batch(model, [args.text] * args.batch_size,
                       tuple(args.shape) if args.shape else None)
    inputs = batch['inputs']
    wrapped = TextBoundModel(model, batch['data_samples']).eval()
    with torch.no_grad():
        analyzer = FlopAnalyzer(wrapped, (inputs, ))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        table = complexity_stats_table(
            analyzer, max_depth=args.depth, show_param_shapes=False)
        flops = analyzer.total()
        by_module = analyzer.by_module()
    prefix = 'segmentor.'
    # FLOPs of the segmentor's direct children (backbone, neck, head)
    modules = {
        name[len(prefix):]: value
        for name, value in by_module.items() if name.startswith(prefix)
        and '.' not in name[len(prefix):]
    }
    params = parameter_count(model)['']
    info = dict(flops=flops, flops_str=_human(flops), params=params,
                params_str=_human(params))
    shape = tuple(inputs.shape)
    print(table)
    print('=' * 60)
    print(f'config: {args.config}')
    print(f'input: image {shape} (B, C, H, W) after the test pipeline; '
          f'text {args.text!r}')
    print(f'FLOPs: {info["flops_str"]}  ({info["flops"]:.4g})')
    print(f'parameters: {info["params_str"]}  ({info["params"]})')
    print('=' * 60)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(flops=info['flops'], params=info['params'],
                           input_shape=shape, text=args.text,
                           modules=modules), f, indent=1)


if __name__ == '__main__':
    main()
