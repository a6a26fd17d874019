"""The Temporal Clue puzzle family: generation, file formats and statistics."""
