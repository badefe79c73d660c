"""Print the full (merged) config of any mmris config.

    python tools/misc/print_config.py CONFIG [--cfg-options k=v ...] \\
        [--save-path full.py]

Works with mmcv-lite (mmseg's own print_config.py imports compiled mmcv
ops). Unknown top-level ``--cfg-options`` keys are an error, as in the
train and test tools.
"""
import argparse

import mmris  # noqa: F401
from mmengine.config import Config, DictAction

from mmris.apis.inference import resolve_config
from mmris.utils import check_cfg_option_keys, register_all_modules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file or name under configs/')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--save-path', help='write the merged config here')
    args = parser.parse_args()
    register_all_modules(init_default_scope=False)
    path = resolve_config(args.config)
    cfg = Config.fromfile(path)
    if args.cfg_options:
        check_cfg_option_keys(cfg, args.cfg_options, path)
        cfg.merge_from_dict(args.cfg_options)
    print(f'Config: {path}\n{cfg.pretty_text}')
    if args.save_path:
        cfg.dump(args.save_path)
        print(f'saved to {args.save_path}')


if __name__ == '__main__':
    main()
