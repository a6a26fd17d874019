"""Training open-weight LLMs into deductive reasoners with GRPO on Temporal Clue puzzles.

Data flows one way: puzzles -> samples -> training -> evaluation -> figures.
"""

__version__ = "0.1.0"
