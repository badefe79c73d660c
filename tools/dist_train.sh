#!/usr/bin/env bash
# Distributed training on one machine with torchrun:
#   tools/dist_train.sh CONFIG GPUS [train.py options]
# Without a GPU it runs GPUS processes on the CPU with the gloo backend.
# NNODES, NODE_RANK, MASTER_ADDR and PORT set multi-node runs.
set -e
if [ "$#" -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [train.py options]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
DIR=$(cd "$(dirname "$0")" && pwd)
# PORT: see dist_port.sh (a free port when unset and 29500 is taken)
source "$DIR/dist_port.sh"

PYTHONPATH="$DIR/..":${PYTHONPATH} \
python -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$GPUS" \
    --master_port="$PORT" \
    "$DIR/train.py" \
    "$CONFIG" \
    --launcher pytorch "${@:3}"
