"""A tiny sentencepiece model trained offline, for tests and the mixing
matrix (BEiT-3's real ``beit3.spm`` cannot be downloaded here)."""
import atexit
import os
import os.path as osp
import shutil
import tempfile

__all__ = ['make_tiny_spm', 'tiny_spm_path']

_WORDS = ('left right middle front back top bottom small large big little '
          'red blue green yellow white black brown man woman person guy girl '
          'boy child dog cat horse car bus chair table bottle cup bowl pizza '
          'elephant giraffe zebra sheep cow bed couch plant umbrella shirt '
          'with the a an of on in near behind next to holding wearing').split()

def make_tiny_spm(folder: str, vocab_size: int = 120) -> str:
    """Train a small sentencepiece model offline (about a second).

    Returns:
        str: Path of the ``.model`` file (the default ``unk=0, bos=1,
        eos=2`` layout of ``beit3.spm``).
    """
    import sentencepiece as spm
    os.makedirs(folder, exist_ok=True)
    corpus = osp.join(folder, 'corpus.txt')
    with open(corpus, 'w') as f:
        for i in range(400):
            words = [_WORDS[(i * 7 + j * 13) % len(_WORDS)] for j in range(6)]
            f.write(' '.join(words) + '\n')
    prefix = osp.join(folder, 'tiny_beit3')
    spm.SentencePieceTrainer.train(
        input=corpus,
        model_prefix=prefix,
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        minloglevel=2)
    return prefix + '.model'


_CACHED = {}


def tiny_spm_path() -> str:
    """A tiny model trained once per process in a temporary folder
    (deleted when the process exits)."""
    if 'path' not in _CACHED:
        folder = tempfile.mkdtemp(prefix='mmris_spm_')
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _CACHED['path'] = make_tiny_spm(folder)
    return _CACHED['path']
