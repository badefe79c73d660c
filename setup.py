"""Install mmris.

``pip install -e ".[tests]"`` installs mmris with everything its tests need.

mmcv: mmris needs no compiled mmcv operator, so it depends on ``mmcv-lite``
(pure Python, no build) unless the full ``mmcv`` distribution is already
installed, in which case that one is kept. ``mmris.utils.mmcv_compat`` provides
the few ``mmcv.ops`` names that mmsegmentation imports at module level when only
``mmcv-lite`` is present (see README, "Installation").
"""
import os.path as osp
from importlib import metadata

from setuptools import find_packages, setup


def _version() -> str:
    scope: dict = {}
    with open(osp.join(osp.dirname(__file__), 'mmris', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def _mmcv_requirement() -> str:
    """Keep a full mmcv that is already installed, else use mmcv-lite."""
    try:
        metadata.version('mmcv')
        return 'mmcv>=2.0.0rc4,<2.2.0'
    except metadata.PackageNotFoundError:
        return 'mmcv-lite>=2.0.0rc4,<2.2.0'


INSTALL_REQUIRES = [
    'torch>=2.1,<2.14',
    'torchvision>=0.16,<0.29',
    'mmengine>=0.10.4,<0.11',
    _mmcv_requirement(),
    'mmsegmentation==1.2.2',
    # mmsegmentation 1.2.2 imports these at import time without declaring them.
    'ftfy>=6.0,<7',
    'regex>=2022.1',
    'mmpretrain>=1.2.0,<1.3',
    'open_clip_torch>=3.0,<4',
    'pycocotools>=2.0.7,<3',
    # parses RefCOCO's 114 MB instances.json at dataset build time about
    # three times faster than the standard library (binary wheels on PyPI;
    # mmris falls back to json when it is missing)
    'orjson>=3.9,<4',
    # BEiT-3's XLM-R tokenizer (Shared-RIS)
    'sentencepiece>=0.1.99,<0.3',
    'numpy>=1.24,<3',
    'opencv-python-headless>=4.8,<6',
]

EXTRAS = {
    'tests': ['pytest>=7.4,<10'],
}

setup(
    name='mmris',
    version=_version(),
    description='Referring image segmentation for MMSegmentation 1.x: '
    'CRIS, ASDA, RISCLIP and Shared-RIS as registry components.',
    long_description=open(osp.join(osp.dirname(__file__), 'README.md'),
                          encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    include_package_data=True,
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
    license='Apache License 2.0',
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
