"""Count expressions cut to a tokenizer's context length, and say so once.

Every RIS text encoder has a fixed text length (17 / 22 tokens in CRIS and
ASDA, 77 in CLIP); a longer expression is cut, silently in most code. Any
tokenizer calls :func:`record_truncation` with how many of its batch it had
to cut: the first cut of a run logs one warning (with the example and the
length), later ones are only counted, and :func:`truncation_summary` gives
the totals (``tools/train.py`` / ``tools/test.py`` log them at the end).
"""
import logging
import threading
from typing import Dict, Optional

from mmengine.logging import print_log

__all__ = [
    'record_truncation', 'truncation_summary', 'reset_truncation',
    'log_truncation_summary'
]

_LOCK = threading.Lock()
_COUNTS: Dict[str, Dict[str, int]] = {}


def record_truncation(tokenizer: str, num_truncated: int, num_texts: int,
                      context_length: int,
                      example: Optional[str] = None,
                      example_length: Optional[int] = None) -> None:
    """Count one batch; warn on the first truncation of ``tokenizer``.

    Args:
        tokenizer (str): Name of the tokenizer (the counter's key).
        num_truncated (int): Expressions of the batch that were cut.
        num_texts (int): Expressions in the batch.
        context_length (int): The text length they were cut to (tokens,
            special tokens included).
        example (str, optional): One cut expression, for the warning.
        example_length (int, optional): Its full length in tokens.
    """
    with _LOCK:
        counts = _COUNTS.setdefault(tokenizer,
                                    dict(truncated=0, texts=0, length=0))
        first = counts['truncated'] == 0 and num_truncated > 0
        counts['truncated'] += int(num_truncated)
        counts['texts'] += int(num_texts)
        counts['length'] = int(context_length)
    if first:
        shown = example if example is None or len(example) <= 120 \
            else example[:117] + '...'
        print_log(
            f'{tokenizer}: expressions longer than the context length '
            f'({context_length} tokens) are truncated, e.g. {shown!r} '
            f'({example_length} tokens). Counted for the rest of the run '
            '(reported once at the end); raise context_length in the '
            'config to keep more words.',
            logger='current',
            level=logging.WARNING)


def truncation_summary() -> Dict[str, Dict[str, int]]:
    """``{tokenizer: dict(truncated=..., texts=..., length=...)}``."""
    with _LOCK:
        return {k: dict(v) for k, v in _COUNTS.items()}


def reset_truncation() -> None:
    """Forget the counts (e.g. between runs in one process)."""
    with _LOCK:
        _COUNTS.clear()


def log_truncation_summary() -> None:
    """Log how many expressions each tokenizer cut, if any."""
    for name, counts in truncation_summary().items():
        if counts['truncated']:
            print_log(
                f'{name}: {counts["truncated"]} of {counts["texts"]} '
                f'tokenized expressions were truncated to '
                f'{counts["length"]} tokens in this run (in this process).',
                logger='current',
                level=logging.WARNING)
