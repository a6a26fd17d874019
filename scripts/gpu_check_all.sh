#!/usr/bin/env bash
# `make gpu-check`: the GPU check of the training step (scripts/gpu_check.py) for each shape, one
# after the other, each under its own time limit, on a machine with torch and CUDA. No network
# is assumed: with WHEELS=<folder> it first installs the small wheels brought along there
# (torchtune, torchao and what torchtune imports; `make gpu-wheels` downloads them).
#
#   scripts/gpu_check_all.sh OUT_DIR          # JSON and log per shape, machine.txt
#
# Shapes: the paper's 14B and 32B layer and vocabulary shapes with the paper profile's training
# settings (LAYERS_14B / LAYERS_32B decoder layers, default 4: a whole model's offloaded AdamW
# state needs more host memory than one-GPU machines have), then the Qwen2.5-1.5B shape over 12
# iterations of different packings (flex attention's recompile check), then (LORA=1, the default)
# the 14B and 32B shapes with LoRA (the paper-lora profile's settings). GPUS ranks (default 1).
# Exit 0 when every shape passed, 1 otherwise (its log says why).
set -uo pipefail
out=${1:?usage: scripts/gpu_check_all.sh OUT_DIR}
py=${GPU_PY:-python3}
mkdir -p "$out"
if [ -n "${WHEELS:-}" ]; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/deductive-gpu-site "$WHEELS"/*.whl || { echo "error: installing $WHEELS failed" >&2; exit 2; }
  export PYTHONPATH=/tmp/deductive-gpu-site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
{ date -u; nvidia-smi; free -g; echo "cpus: $(nproc)"; df -h /tmp
  "$py" -c "import torch, torchtune, torchao; print('torch', torch.__version__, 'torchtune', torchtune.__version__, 'torchao', torchao.__version__)"
} > "$out/machine.txt" 2>&1
rc=0
check() {  # name, seconds, arguments of gpu_check.py
  local name=$1 limit=$2; shift 2
  local work=/tmp/deductive-gpu-check/$name
  timeout "$limit" "$py" -m torch.distributed.run --standalone --nproc-per-node "${GPUS:-1}" \
      scripts/gpu_check.py --out "$work" "$@" > "$out/$name.log" 2>&1
  local r=$?
  cp "$work/gpu_check.json" "$out/$name.json" 2>/dev/null
  rm -rf "$work/ckpt"
  echo "gpu-check $name: exit $r$([ $r -eq 124 ] && echo " (over its ${limit}s limit)")"
  tail -6 "$out/$name.log"
  [ $r -eq 0 ] || rc=1
}
check qwen2.5-14b "${LIMIT_14B:-210}" --shape qwen2.5-14b --layers "${LAYERS_14B:-4}"
check qwen2.5-32b "${LIMIT_32B:-210}" --shape qwen2.5-32b --layers "${LAYERS_32B:-4}"
check qwen2.5-1.5b "${LIMIT_1_5B:-150}" --shape qwen2.5-1.5b
if [ "${LORA:-1}" = 1 ]; then  # LoRA with the paper-lora profile's settings, one GPU (not yet run on a GPU)
  check qwen2.5-14b-lora "${LIMIT_14B:-210}" --shape qwen2.5-14b --layers "${LAYERS_14B:-4}" --lora
  check qwen2.5-32b-lora "${LIMIT_32B:-210}" --shape qwen2.5-32b --layers "${LAYERS_32B:-4}" --lora
fi
exit $rc
