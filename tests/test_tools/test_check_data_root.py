"""tools/misc/check_data_root.py on generated REFER data."""
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmris.testing import make_refer_data_root

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO, 'tools', 'misc', 'check_data_root.py')


@pytest.fixture(scope='module')
def tool():
    spec = importlib.util.spec_from_file_location('check_data_root', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ok_as_subprocess(refer_data_summary):
    result = subprocess.run(
        [sys.executable, TOOL, '--data-root', refer_data_summary['root']],
        capture_output=True,
        text=True,
        cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'OK' in result.stdout
    rows = {
        tuple(line.split()[:3]): line.split()[3:5]
        for line in result.stdout.splitlines() if line.strip()
    }
    summary = refer_data_summary['datasets']
    for dataset, split_bys in summary.items():
        for split_by, splits in split_bys.items():
            for split, stats in splits.items():
                assert rows[(dataset, split_by, split)] == [
                    str(stats['num_refs']),
                    str(stats['num_sentences'])
                ]

def test_dataset_filter(tool, refer_data_summary, capsys):
    assert tool.main(['--data-root', refer_data_summary['root'],
                      '--datasets', 'refcocog:google']) == 0
    out = capsys.readouterr().out
    assert 'umd' not in out and 'google' in out


def test_missing_image_and_files(tool, tmp_path, capsys):
    summary = make_refer_data_root(str(tmp_path), num_images=4, seed=1)
    gone = summary['images'][0]['file_name']
    os.remove(osp.join(str(tmp_path), 'coco', 'train2014', gone))
    assert tool.main(['--data-root', str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert gone in out and 'missing' in out

    os.remove(osp.join(str(tmp_path), 'refcocog', 'refs(google).p'))
    assert tool.main(['--data-root', str(tmp_path), '--datasets',
                      'refcocog']) == 1
    assert 'refs(google).p' in capsys.readouterr().out

    assert tool.main(['--data-root', str(tmp_path / 'nowhere')]) == 1
    with pytest.raises(SystemExit):
        tool.main(['--data-root', str(tmp_path), '--datasets', 'refclef'])


def test_bad_images_and_masks_are_found(tool, tmp_path, capsys):
    """Zero-byte and truncated images, and empty / out-of-image masks, are
    problems (the header-only mode misses the truncated file)."""
    import json
    summary = make_refer_data_root(str(tmp_path), num_images=6, seed=2)
    img_dir = tmp_path / 'coco' / 'train2014'
    names = [im['file_name'] for im in summary['images']]
    (img_dir / names[0]).write_bytes(b'')
    data = (img_dir / names[1]).read_bytes()
    (img_dir / names[1]).write_bytes(data[:len(data) // 2])
    ann_path = tmp_path / 'refcoco' / 'instances.json'
    coco = json.loads(ann_path.read_text())
    polys = [a for a in coco['annotations']
             if isinstance(a['segmentation'], list)]
    polys[0]['segmentation'] = []
    polys[1]['segmentation'] = [[1000, 1000, 1010, 1000, 1010, 1010]]
    ann_path.write_text(json.dumps(coco))

    assert tool.main(['--data-root', str(tmp_path), '--datasets',
                      'refcoco']) == 1
    out = capsys.readouterr().out
    assert 'zero bytes' in out and names[0] in out
    assert 'cannot be read' in out and names[1] in out
    assert 'mask that is empty' in out
    assert 'mask that is outside the image' in out

    assert tool.main(['--data-root', str(tmp_path), '--datasets',
                      'refcoco', '--no-decode']) == 1
    out = capsys.readouterr().out
    assert 'zero bytes' in out and names[1] not in out


def test_splits_and_present_datasets(tool, tmp_path, capsys):
    """Without --datasets only the present datasets are checked; standard
    splits without refs are a note unless named in --splits."""
    import pickle
    import shutil
    make_refer_data_root(str(tmp_path), num_images=4, seed=3)
    shutil.rmtree(tmp_path / 'refcoco+')
    shutil.rmtree(tmp_path / 'refcocog')
    refs_file = tmp_path / 'refcoco' / 'refs(unc).p'
    refs = pickle.load(open(refs_file, 'rb'), encoding='latin1')
    refs = [r for r in refs if r['split'] in ('train', 'val')]
    with open(refs_file, 'wb') as f:
        pickle.dump(refs, f, protocol=2)
    assert tool.main(['--data-root', str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "'testA' has no refs (not checked)" in out
    assert 'refcoco+' not in out
    assert tool.main(['--data-root', str(tmp_path), '--splits', 'val']) == 0
    out = capsys.readouterr().out
    assert 'testA' not in out and ' val ' in out
    assert tool.main(['--data-root', str(tmp_path), '--splits',
                      'testA']) == 1
    assert "split 'testA' has no refs" in capsys.readouterr().out
