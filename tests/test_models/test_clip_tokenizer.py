"""CLIP tokenisation: fixed length, pad mask, truncation keeps the EOT."""
import logging
import pytest

import mmris  # noqa: F401
from mmris.models.utils import CLIPTokenizer


def test_pad_mask_and_special_tokens():
    tok = CLIPTokenizer(context_length=17)
    ids, pad = tok(['the dog on the left', 'cat'])
    assert ids.shape == pad.shape == (2, 17)
    assert ids[0, 0] == tok.sot_token_id
    # "cat" -> [SOT, cat, EOT] then padding
    assert pad[1].tolist() == [False] * 3 + [True] * 14
    assert ids[1, 2] == tok.eot_token_id
    # EOT has the largest id, so argmax finds it
    assert ids.argmax(-1).tolist() == [int((~pad[0]).sum()) - 1, 2]


def test_long_expression_is_truncated_keeping_end_token():
    tok = CLIPTokenizer(context_length=8)
    ids, pad = tok(['a very long expression ' * 20])
    assert not pad.any()
    assert ids[0, -1] == tok.eot_token_id
    assert ids[0, 0] == tok.sot_token_id


def test_unicode_expression():
    tok = CLIPTokenizer(context_length=22)
    ids, pad = tok(['la girafe à gauche — 左边的长颈鹿'])
    assert ids[0, int((~pad[0]).sum()) - 1] == tok.eot_token_id


@pytest.mark.parametrize('text', ['', '   ', None])
def test_empty_expression_is_a_clear_error(text):
    with pytest.raises(ValueError, match='empty'):
        CLIPTokenizer(17)(['fine', text])


def test_truncation_is_counted_and_warned_once(caplog):
    """A long expression is cut to the context length: the first cut of a
    run warns once (with the example), later ones are only counted."""
    from mmengine.logging import MMLogger
    from mmris.models.utils import (CLIPTokenizer, reset_truncation,
                                    truncation_summary)
    reset_truncation()
    tok = CLIPTokenizer(context_length=8)
    logger = MMLogger.get_instance('truncation_test')
    messages = []
    handler = type('H', (logging.Handler, ), {
        'emit': lambda self, record: messages.append(record.getMessage())
    })()
    MMLogger.get_current_instance().addHandler(handler)
    try:
        long_text = ' '.join(['word'] * 300)
        tok(['short', long_text, 'two words'])
        tok([long_text, 'café au lait à gauche du chat noir'])
        tok(['ok'])
    finally:
        MMLogger.get_current_instance().removeHandler(handler)
    summary = truncation_summary()['CLIPTokenizer']
    assert summary == dict(truncated=3, texts=6, length=8)
    warnings = [m for m in messages if 'truncated' in m]
    assert len(warnings) == 1, messages
    assert '302 tokens' in warnings[0] and 'context length (8' in warnings[0]
    del logger
    reset_truncation()
