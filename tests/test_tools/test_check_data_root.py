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
