#!/usr/bin/env bash
# Start a training script under torchrun with the placement of its run
# (deductive.training.placement: how many processes, which GPUs, from the run's settings and
# this node), or, inside a SLURM allocation of several nodes, that many on every node (one
# torchrun per node via srun, c10d rendezvous on the first node).
#   usage: scripts/launch_torchrun.sh PYTHON SCRIPT --config C --run R --model-dir M [ARGS...]
# Each process gets its share of the CPU cores (OMP_NUM_THREADS; CPU-offloaded AdamW steps in
# every rank) and, unless set, PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True (what the memory
# plan assumes; measured in results/gpu-check/). RDZV_PORT: the rendezvous port (default 29500).
# `--` ends torchrun's options: its parser would otherwise take train.py's `--run` for an
# ambiguous abbreviation of its own `--run-path` and stop.
set -euo pipefail
python=$1; shift
script=$1
read -r nproc devices < <("$python" -m deductive.training.placement "${@:2}") || exit 2
if [[ "$devices" != "-" ]]; then
  export CUDA_VISIBLE_DEVICES=$devices
  export PYTORCH_CUDA_ALLOC_CONF=${PYTORCH_CUDA_ALLOC_CONF:-expandable_segments:True}
fi
cores=${SLURM_CPUS_ON_NODE:-$(nproc)}
export OMP_NUM_THREADS=$(( cores / nproc > 0 ? cores / nproc : 1 ))
if [[ "${SLURM_NNODES:-1}" -gt 1 ]]; then
  head=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
  exec srun --nodes "$SLURM_NNODES" --ntasks-per-node 1 "$python" -m torch.distributed.run \
    --nnodes "$SLURM_NNODES" --nproc-per-node "$nproc" --rdzv-backend c10d \
    --rdzv-id "${SLURM_JOB_ID}" --rdzv-endpoint "${head}:${RDZV_PORT:-29500}" -- "$@"
fi
exec "$python" -m torch.distributed.run --standalone --nproc-per-node "$nproc" -- "$@"
