"""tools/dist_port.sh: a free port when PORT is unset and 29500 is taken."""
import os
import socket
import subprocess

import pytest

from e2e_utils import REPO


def _port(env):
    script = ('NNODES=${NNODES:-1}; NODE_RANK=${NODE_RANK:-0}; '
              'source tools/dist_port.sh; echo "PORT=$PORT"')
    full = {k: v for k, v in os.environ.items() if k != 'PORT'}
    full.update(env)
    return subprocess.run(['bash', '-c', script], cwd=REPO, env=full,
                          capture_output=True, text=True)


def _hold(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(('', port))
    except OSError:
        pytest.skip(f'port {port} is taken by another program')
    s.listen(1)
    return s


def test_busy_default_port_is_replaced():
    held = _hold(29500)
    try:
        proc = _port({})
        assert proc.returncode == 0, proc.stderr
        port = int(proc.stdout.strip().split('=')[1])
        assert port != 29500 and port > 0
        assert 'port 29500 is in use; using free port' in proc.stderr
        # multi-node runs need the same port everywhere: an error instead
        proc = _port({'NNODES': '2'})
        assert proc.returncode == 1 and 'same on every node' in proc.stderr
    finally:
        held.close()


def test_busy_explicit_port_is_an_error_with_a_hint():
    held = _hold(29533)
    try:
        proc = _port({'PORT': '29533'})
        assert proc.returncode == 1
        assert 'PORT=29533 is in use' in proc.stderr
        assert 'unset it' in proc.stderr
    finally:
        held.close()
    proc = _port({'PORT': '29533'})
    assert proc.returncode == 0 and proc.stdout.strip() == 'PORT=29533'
