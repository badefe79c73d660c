#!/usr/bin/env bash
# Sourced by dist_train.sh / dist_test.sh after NNODES and NODE_RANK are set.
# PORT: the rendezvous port. Unset, it is 29500, or a free port when 29500
# is taken on a single-node run; a PORT you set that is taken is an error.
PORT_FREE='import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("", int(sys.argv[1]))); print(s.getsockname()[1])
except OSError:
    sys.exit(1)'
if [ -z "${PORT:-}" ]; then
    PORT=29500
    if ! python -c "$PORT_FREE" "$PORT" >/dev/null 2>&1; then
        if [ "$NNODES" -gt 1 ]; then
            echo "port 29500 is in use; set PORT to a free port (the same" \
                "on every node)" >&2
            exit 1
        fi
        PORT=$(python -c "$PORT_FREE" 0)
        echo "port 29500 is in use; using free port $PORT (set PORT to" \
            "choose one)" >&2
    fi
elif [ "$NODE_RANK" -eq 0 ] && \
        ! python -c "$PORT_FREE" "$PORT" >/dev/null 2>&1; then
    echo "PORT=$PORT is in use on this machine; set PORT to a free port" \
        "or unset it to pick one" >&2
    exit 1
fi
