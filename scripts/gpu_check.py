#!/usr/bin/env python3
"""GPU check of the training step in minutes (`make gpu-check`; logic in
deductive.training.gpu_check): random-weight Qwen2.5-1.5B shape, packed flex-attention steps
over 12 iteration shapes, bf16 FSDP2 with CPU offload, activation checkpointing, checkpoint
save and resume; prints tokens/s and MFU. Needs torch, torchtune and torchao only.

    PYTHONPATH=src torchrun --standalone --nproc-per-node 1 scripts/gpu_check.py [--shape qwen2.5-14b --layers 4]
    PYTHONPATH=src torchrun --standalone --nproc-per-node 2 scripts/gpu_check.py --tiny --device cpu   # CPU test

On a GPU machine the package is not installed: PYTHONPATH=src (scripts/gpu_check_all.sh sets it).

Exit 0 when every check passes, 1 when one fails (the summary says which), 2 without a GPU.
"""

from __future__ import annotations

import sys

from deductive.training.gpu_check import main

if __name__ == "__main__":
    sys.exit(main())
