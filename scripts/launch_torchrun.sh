#!/usr/bin/env bash
# Start a training script under torchrun on every GPU of this node, or, inside a SLURM
# allocation of several nodes, on every GPU of every node (one torchrun per node via srun,
# c10d rendezvous on the first node).
#   usage: scripts/launch_torchrun.sh PYTHON SCRIPT [ARGS...]
# GPUS_PER_NODE overrides the GPU count; RDZV_PORT the rendezvous port (default 29500).
set -euo pipefail
python=$1; shift
nproc=${GPUS_PER_NODE:-$("$python" -c "import torch; print(max(1, torch.cuda.device_count()))")}
if [[ "${SLURM_NNODES:-1}" -gt 1 ]]; then
  head=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
  exec srun --nodes "$SLURM_NNODES" --ntasks-per-node 1 "$python" -m torch.distributed.run \
    --nnodes "$SLURM_NNODES" --nproc-per-node "$nproc" --rdzv-backend c10d \
    --rdzv-id "${SLURM_JOB_ID}" --rdzv-endpoint "${head}:${RDZV_PORT:-29500}" "$@"
fi
exec "$python" -m torch.distributed.run --standalone --nproc-per-node "$nproc" "$@"
