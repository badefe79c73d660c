"""Shared fixtures of the mmris test suite.

``import mmris`` comes first: it installs the ``mmcv.ops`` shim that mmseg
needs at import time.
"""
import pytest

import mmris  # noqa: F401
from mmris.testing import make_refer_data_root


@pytest.fixture(scope='session')
def refer_data_summary(tmp_path_factory) -> dict:
    """Summary of a small generated REFER data root (see
    :func:`mmris.testing.make_refer_data_root`); ``summary['root']`` is the
    data root. Shared by the whole session: do not modify its files."""
    root = tmp_path_factory.mktemp('refer_data')
    return make_refer_data_root(str(root), num_images=8, seed=0)


@pytest.fixture(scope='session')
def refer_data_root(refer_data_summary) -> str:
    """Path (str) of the session's generated REFER data root."""
    return refer_data_summary['root']


@pytest.fixture(autouse=True)
def fresh_visualizer():
    """Forget the process-wide visualizers after every test.

    A runner takes the existing ``Visualizer`` instance of the configured
    name (``visualizer``) if there is one, with its backends' save folder
    in the *first* runner's work dir: a runner built by a later test would
    write its ``vis_data`` into a folder that pytest has already deleted
    (``tmp_path_retention_policy = failed``). MMEngine's own
    ``RunnerTestCase.tearDown`` clears the same instances.
    """
    yield
    from mmengine.visualization import Visualizer
    Visualizer._instance_dict.clear()
