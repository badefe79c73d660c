"""Timing and reporting shared by the ``tools/analysis_tools/benchmark_*``
scripts: medians of repeated timings, a plain-text table and a JSON file."""
import json
import os
import os.path as osp
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

__all__ = ['median_time', 'print_table', 'write_json']


def median_time(fn: Callable[[], Any], repeat: int = 5,
                number: int = 1) -> float:
    """Median over ``repeat`` runs of the seconds one call of ``fn`` takes.

    Args:
        fn (callable): The work to time (no arguments).
        repeat (int): Number of timed runs; the median is reported.
        number (int): Calls per run (the run's time is divided by it).

    Returns:
        float: Seconds per call.
    """
    if repeat < 1 or number < 1:
        raise ValueError(f'repeat and number must be >= 1, got {repeat}, '
                         f'{number}')
    times: List[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    times.sort()
    return times[len(times) // 2]


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Print (and return) a Markdown table of ``rows``."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    lines = ['| ' + ' | '.join(r) + ' |' for r in cells]
    lines.insert(1, '|' + '|'.join(' --- ' for _ in headers) + '|')
    text = '\n'.join(lines)
    print(text)
    return text


def write_json(path: Optional[str], result: Dict[str, Any]) -> None:
    """Write ``result`` as indented JSON to ``path`` (folders created;
    nothing when ``path`` is None or empty)."""
    if not path:
        return
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(result, f, indent=1)
