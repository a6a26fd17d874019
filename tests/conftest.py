import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("WANDB_MODE", "disabled")

PUBLISHED_VAL = ROOT / "data" / "temporal-clue" / "val.json"
