"""What makes RefCOCODataset's initialisation fast changes nothing it
returns: the vectorised mask checks, the UTF-8 unpickling with and without
bytes objects, the joined serialisation and the paused collector."""
import gc
import pickle
import random

import mmris  # noqa: F401  (must precede mmseg imports)
from mmengine.registry import init_default_scope

from mmris.datasets import RefCOCODataset
from mmris.datasets.data_checks import mask_problem, polygon_mask_problems
from mmris.datasets.refer_loader import load_refs_pickle
from mmris.testing import dump_py2_pickle
from mmris.testing.refcoco_size_root import make_refcoco_size_root


def _random_masks(n, seed=0):
    rng = random.Random(seed)
    masks = []
    for _ in range(n):
        width, height = rng.choice([(640, 480), (50, 40)])
        kind = rng.random()
        if kind < 0.1:
            seg = []
        elif kind < 0.2:
            seg = [[1, 1, 2, 2]]  # too short: no polygon
        elif kind < 0.3:  # a flat single polygon, left of the image
            seg = [rng.uniform(-100, -1) for _ in range(8)]
        elif kind < 0.4:
            seg = [[5, 5, 5, 5, 5, 5]]  # zero area
        elif kind < 0.45:
            seg = dict(size=[height, width], counts=[0, height * width])
        else:
            seg = [[rng.uniform(-20, width + 20)
                    for _ in range(2 * rng.randint(3, 20))]
                   for _ in range(rng.randint(1, 3))]
        masks.append(dict(segmentation=seg, height=height, width=width))
    return masks


def test_vectorised_mask_checks_match_one_by_one():
    masks = _random_masks(2000)
    want = [mask_problem(m) for m in masks]
    assert polygon_mask_problems(masks) == want
    assert {'empty', 'outside the image', None} == set(want)


def test_bytes_pickles_are_still_normalised(tmp_path):
    refs = [dict(ref_id=1, split='val',
                 sentences=[dict(sent='caf\u00e9', sent_id=3)])]
    as_bytes = [{k.encode(): v for k, v in refs[0].items()}]
    as_bytes[0][b'sentences'] = [{b'sent': 'caf\u00e9'.encode(),
                                  b'sent_id': 3}]
    for protocol in (2, 4):
        path = tmp_path / f'bytes{protocol}.p'
        path.write_bytes(pickle.dumps(as_bytes, protocol=protocol))
        assert load_refs_pickle(str(path)) == refs, protocol
    py2 = tmp_path / 'py2.p'
    dump_py2_pickle(refs, str(py2))
    assert load_refs_pickle(str(py2)) == refs


def test_serialised_infos_equal_the_plain_ones(tmp_path):
    init_default_scope('mmris')
    info = make_refcoco_size_root(str(tmp_path), scale=0.001)
    assert info['splits']['train'] == (42, 121)
    kwargs = dict(data_root=str(tmp_path), dataset='refcoco', split='train',
                  pipeline=[])
    assert gc.isenabled()
    packed = RefCOCODataset(**kwargs)
    assert gc.isenabled()  # the collector is back on after the init
    plain = RefCOCODataset(serialize_data=False, **kwargs)
    assert len(packed) == len(plain) == 121
    for k in range(len(plain)):
        assert packed.get_data_info(k) == plain.get_data_info(k)
    subset = packed.get_subset([3, 7])
    assert subset.get_data_info(1) == dict(plain.get_data_info(7),
                                           sample_idx=1)
