"""The fixed name pools of the Temporal Clue family (method.md section 6)."""

from __future__ import annotations

SUSPECTS = (
    "Miss Scarlet", "Colonel Mustard", "Mrs. White", "Mr. Green", "Mrs. Peacock",
    "Professor Plum", "Miss Peach", "Sgt. Gray", "Monsieur Brunette", "Madame Rose",
)
WEAPONS = ("Candlestick", "Knife", "Lead Pipe", "Revolver", "Rope", "Wrench", "Horseshoe", "Poison")
ROOMS = (
    "Kitchen", "Ballroom", "Conservatory", "Dining Room", "Billiard Room", "Library", "Lounge",
    "Hall", "Study", "Carriage House", "Cloak Room", "Trophy Room", "Drawing Room", "Gazebo",
    "Courtyard", "Fountain", "Studio",
)
MOTIVES = ("Revenge", "Jealousy", "Greed", "Power", "Hatred", "Anger", "Fear", "Ambition",
           "Betrayal", "Pride")

# The largest number of listed times (2 * the largest number of players).
MAX_TIMES = 12
MAX_PLAYERS = 6
