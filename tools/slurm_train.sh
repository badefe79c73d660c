#!/usr/bin/env bash
# Multi-node training under Slurm:
#   GPUS=16 tools/slurm_train.sh PARTITION JOB_NAME CONFIG [WORK_DIR] [opts]
# GPUS (total), GPUS_PER_NODE, CPUS_PER_TASK and SRUN_ARGS are read from the
# environment.
set -x
if [ "$#" -lt 3 ]; then
    echo "usage: $0 PARTITION JOB_NAME CONFIG [WORK_DIR] [train.py options]" >&2
    exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=${4:-}
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PY_ARGS=${@:5}
DIR=$(cd "$(dirname "$0")" && pwd)
WORK_DIR_ARG=""
if [ -n "$WORK_DIR" ]; then
    WORK_DIR_ARG="--work-dir=${WORK_DIR}"
fi

PYTHONPATH="$DIR/..":${PYTHONPATH} \
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    python -u "$DIR/train.py" "${CONFIG}" ${WORK_DIR_ARG} --launcher="slurm" ${PY_ARGS}
