"""Parse a prompt in the original Temporal Clue wording (the published val/test files).

The prompt is read line by line; every non-blank line must be a known heading, a known fixed
paragraph, or an item of the current section, else `ParseError` names it. Sections: suspects,
weapons, rooms, map, times (absent when there is one time; the original then also deletes every
" at 12:00 AM", its only single time), motives (absent when there is one motive), clues,
questions, bonus questions, answer format.
"""

from __future__ import annotations

import re

from deductive.verify.clauses import assemble_puzzle, motive_rule
from deductive.verify.constraints import ParseError, ParsedPuzzle
from deductive.verify.lexicon import Lexicon

SINGLE_TIME = "12:00 AM"  # the original's time when a puzzle has one time only

HEADINGS = [
    ("suspects", re.compile(r".*The following persons of interest have been identified as suspects:")),
    ("weapons", re.compile(r"And the following weapons were found on the premises:")),
    ("rooms", re.compile(r"The murder could only have occured in one of the following rooms:")),
    ("map", re.compile(r"The rooms are laid out as follows:")),
    ("times", re.compile(r"The exact time of the murder is a bit uncertain, but it has been "
                         r"narrowed down to one of the following times:")),
    ("motives", re.compile(r"Each suspect (?P<uniquely>uniquely )?had one of the following "
                           r"possible motives for killing Mr\. Boddy:")),
    ("clues", re.compile(r"The available clues are as follows:")),
    ("questions", re.compile(r"Please answer the following question\(s\):")),
    ("bonus", re.compile(r"And the following bonus question\(s\):")),
    ("format", re.compile(r"Fill out your final answers in the following format:")),
]
# Fixed paragraphs: their content is the rules, which the solver encodes (see solve.py).
PARAGRAPHS = [
    re.compile(r"At every time the suspects and Mr\. Boddy either stayed in their current room "
               r"or moved to an orthogonally adjacent room \(north, south, east, or west\)\. "
               r"Weapons could be moved by suspects between rooms as well\."),
    re.compile(r"For the murder to occur, the murderer and Mr\. Boddy must have been alone in a "
               r"room with at least one weapon(?: at some point in the night\. Any clue about "
               r"Mr\. Boddy's whereabouts should be read as \"Mr\. Boddy \(dead or alive\) "
               r"\.\.\.\"|\.)"),
    re.compile(r"Best of luck, detective\."),
]
BULLET = re.compile(r"• (?P<x>.+)")
MOTIVE_ITEM = re.compile(r"• (?P<x>.+?)(?: \((?P<n>\d+) suspects?\))?")
ROOM_ITEM = re.compile(r"(?P<n>\d+)\. (?P<x>.+)")
COMPASS = re.compile(r"\s*(?:(?:N+|S+) )*(?:N+|S+)\s*")
MAP_ROW = re.compile(r"W (?P<cells>.+) E")
CLUE_ITEM = re.compile(r"- (?P<x>.+)")
QUESTION_ITEM = re.compile(r"(?P<l>[A-Z])\. (?P<x>.+)")
FORMAT_ITEM = re.compile(r"(?P<l>[A-Z])\. (?P<x>SUSPECT|WEAPON|ROOM|TIME|MOTIVE)")


def looks_original(prompt: str) -> bool:
    return "The available clues are as follows:" in prompt


def parse_original(prompt: str) -> ParsedPuzzle:
    items: dict[str, list[tuple[int, str, re.Match | None]]] = {name: [] for name, _ in HEADINGS}
    uniquely = None
    section = None
    for no, raw in enumerate(prompt.split("\n"), start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        heading = next(((name, rx.fullmatch(line)) for name, rx in HEADINGS if rx.fullmatch(line)),
                       None)
        if heading:
            section = heading[0]
            if section == "motives":
                uniquely = bool(heading[1]["uniquely"])
            continue
        if any(rx.fullmatch(line) for rx in PARAGRAPHS):
            section = None
            continue
        pattern = {"suspects": BULLET, "weapons": BULLET, "times": BULLET, "motives": MOTIVE_ITEM,
                   "rooms": ROOM_ITEM, "map": None, "clues": CLUE_ITEM,
                   "questions": QUESTION_ITEM, "bonus": QUESTION_ITEM,
                   "format": FORMAT_ITEM}.get(section)
        if section == "map":
            if COMPASS.fullmatch(line):
                continue
            m = MAP_ROW.fullmatch(line)
        else:
            m = pattern.fullmatch(line) if pattern else None
        if m is None:
            raise ParseError("unexpected line" + (f" in the {section} section" if section else ""),
                             line, no)
        items[section].append((no, line, m))

    suspects = [m["x"] for _, _, m in items["suspects"]]
    weapons = [m["x"] for _, _, m in items["weapons"]]
    rooms = []
    for i, (no, line, m) in enumerate(items["rooms"], start=1):
        if int(m["n"]) != i:
            raise ParseError(f"room number {m['n']} out of order (expected {i})", line, no)
        rooms.append(m["x"])
    cells = {}
    for row, (no, line, m) in enumerate(items["map"]):
        for col, cell in enumerate(c.strip() for c in m["cells"].split("|")):
            if cell == "-":
                continue
            if not cell.isdigit() or not 1 <= int(cell) <= len(rooms):
                raise ParseError(f"map cell {cell!r} is not a room number", line, no)
            if rooms[int(cell) - 1] in cells:
                raise ParseError(f"room {cell} appears twice on the map", line, no)
            cells[rooms[int(cell) - 1]] = (row, col)
    times = [m["x"] for _, _, m in items["times"]] or [SINGLE_TIME]
    motives, mode, counts = motive_rule(items, uniquely)

    lex = Lexicon(suspects, weapons, rooms, times, motives, indefinite_motive=True)
    return assemble_puzzle("original", lex, cells, mode, counts, items)
