#!/usr/bin/env bash
# The test command of the README: installs mmris with its test tools into the
# current Python environment (idempotent), then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# PyPI's torch build: a machine-local CPU-only torch wheel in pip's
# find-links cannot load torchvision from PyPI (see README, Installation).
PIP_FIND_LINKS="$(mktemp -d)" python -m pip install -q -e ".[tests]"
python -c "import mmris, torchvision, open_clip, mmseg; print('mmris', mmris.__version__)"
python -m pytest tests "$@"
