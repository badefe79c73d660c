"""Print (or write into the README) the backbone x neck x head matrix.

Builds every combination of :mod:`mmris.testing.mixing_matrix` at reduced
size and reports which build and which fail at build time, with the reason
(docs/design.md section 2.3). ``tests/test_models/test_mixing_matrix.py``
checks that every combination that builds also trains and predicts, and that
the README's table is this tool's output.

    python tools/misc/mixing_matrix.py            # print the table
    python tools/misc/mixing_matrix.py --write README.md
"""
import argparse
import re
import sys

START = '<!-- mixing-matrix:start (python tools/misc/mixing_matrix.py ' \
    '--write README.md) -->'
END = '<!-- mixing-matrix:end -->'


def matrix_markdown() -> str:
    """Build every combination and return the markdown table."""
    import mmris  # noqa: F401  (mmcv.ops shim before mmseg)
    from mmris.testing.mixing_matrix import (build_combination,
                                             combinations, markdown_matrix)
    results = {}
    for combo in combinations():
        _, message = build_combination(*combo)
        results[combo] = message
    return markdown_matrix(results)


def replace_section(text: str, table: str) -> str:
    """``text`` with the part between the markers replaced by ``table``."""
    pattern = re.compile(re.escape(START) + '.*?' + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f'the markers {START!r} ... {END!r} are not in the '
                         'file')
    return pattern.sub(lambda _: f'{START}\n{table}\n{END}', text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--write', metavar='FILE', help='replace the table in FILE')
    args = parser.parse_args()
    table = matrix_markdown()
    if args.write:
        with open(args.write, encoding='utf-8') as f:
            text = f.read()
        with open(args.write, 'w', encoding='utf-8') as f:
            f.write(replace_section(text, table))
        print(f'wrote the mixing matrix into {args.write}')
    else:
        sys.stdout.write(table + '\n')


if __name__ == '__main__':
    main()
