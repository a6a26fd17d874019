"""Figures and tables drawn from committed results (scripts/make_figures.py)."""
