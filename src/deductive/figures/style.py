"""One look for every figure, and byte-identical files when a figure is rebuilt.

`setup()` selects the Agg backend, the DejaVu fonts shipped inside matplotlib and fixed
rcParams; `save(fig, base)` writes `<base>.pdf` and `<base>.png` with fixed metadata (no
creation date, no software tag), so the same results always give the same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from deductive.io import atomic_write_bytes  # noqa: E402

# Colours by provenance and model kind (colour-blind safe Okabe-Ito palette).
MEASURED = "#0072B2"
PUBLISHED = "#7F7F7F"
KIND_COLOURS = {"base": "#56B4E9", "trained": "#0072B2", "api": "#E69F00"}
FRONTIER = "#009E73"
REFERENCE = "#D55E00"
CHANCE = "#CC79A7"  # chance level: uniformly random answers

MEASURED_LABEL = "measured here"
PUBLISHED_LABEL = "published"

RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "pdf.fonttype": 42,
    "svg.hashsalt": "deductive-grpo",
    "savefig.bbox": "standard",
    "figure.dpi": 100,
    "path.simplify": True,
}

PDF_METADATA = {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}
PNG_METADATA = {"Software": None}


def setup() -> None:
    """Reset matplotlib to the fixed style (call before drawing each figure)."""
    matplotlib.rcdefaults()
    matplotlib.use("Agg")
    plt.rcParams.update(RC)


def render_bytes(fig, fmt: str, dpi: int) -> bytes:
    buffer = io.BytesIO()
    metadata = PDF_METADATA if fmt == "pdf" else PNG_METADATA
    fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
    return buffer.getvalue()


def save(fig, base: str | Path, dpi: int = 150) -> list[Path]:
    """Write `<base>.pdf` and `<base>.png` atomically; close the figure; return the paths."""
    base = Path(base)
    paths = []
    for fmt in ("pdf", "png"):
        path = base.with_name(f"{base.name}.{fmt}")
        atomic_write_bytes(path, render_bytes(fig, fmt, dpi))
        paths.append(path)
    plt.close(fig)
    return paths
