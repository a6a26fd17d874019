"""Parse a prompt in this project's own wording (docs/puzzle-format.md).

Sections are introduced by fixed headings; every non-blank line must be a heading, an item of
the current section, or part of the two free paragraphs (the opening story and the answer-format
instruction). The rules section must be exactly the fixed rule sentences of the spec: the solver
implements those readings, so a prompt stating other rules does not verify.
"""

from __future__ import annotations

import re

from deductive.verify.clauses import assemble_puzzle, motive_rule
from deductive.verify.constraints import ParseError, ParsedPuzzle
from deductive.verify.lexicon import Lexicon

UNIQUE_MOTIVES = "Motives (each suspect has exactly one; no two suspects share a motive):"
COUNTED_MOTIVES = "Motives (each suspect has exactly one; the count says how many suspects have it):"
# The empty-cell marker in the heading is written as wide as the map's cells ([-] or [--]).
MAP_HEADING = re.compile(r"Map \(north is at the top; rooms that share a side are adjacent; "
                         r"\[(?P<dashes>-+)\] is not a room\):")
HEADINGS = {
    "Suspects:": "suspects", "Weapons:": "weapons", "Rooms:": "rooms",
    "Times, in order:": "times", UNIQUE_MOTIVES: "motives", COUNTED_MOTIVES: "motives",
    "Rules:": "rules", "Clues:": "clues", "Questions:": "questions",
    "Bonus questions:": "bonus",
}
RULES = [
    "At each listed time after the first, every suspect and Mr. Boddy either stays in the same room or moves to a room adjacent on the map (one step north, south, east or west).",
    "A weapon never moves by itself: it moves from a room to an adjacent room at a given time only if some suspect makes that same move at that time, and otherwise stays where it was.",
    "The murder happened at one of the listed times, in a room where the murderer, Mr. Boddy and the murder weapon were together and no other suspect was present.",
    "From the time of the murder on, Mr. Boddy's body stays in the murder room; a clue about Mr. Boddy means him or his body.",
    "\"Either X or Y\" means that exactly one of X and Y is true.",
    "\"X if and only if Y\" means that X and Y are both true or both false.",
    "\"The suspect motivated by M\" means a suspect whose motive is M; when several suspects share M, the clue is true if it holds for at least one of them.",
    "\"X moved from A to B at T\" means X was in A at the time listed just before T and in B at T.",
    "\"S moved the W from A to B at T\" means S and the W were both in A at the time listed just before T and both in B at T.",
    "\"X and Y were together in R at least once\" means that at some listed time both were in R.",
    "\"X was in the room directly north of Y at T\" means that at T, X's room is the room immediately north of Y's room on the map (likewise south, east and west).",
]
MULTI_TIME_ONLY = {0, 7, 8}  # rules 1, 8, 9 are omitted when there is one time only
DASH = re.compile(r"- (?P<x>.+)")
MOTIVE_ITEM = re.compile(r"- (?P<x>.+?)(?: \((?P<n>\d+) suspects?\))?")
NUMBERED = re.compile(r"(?P<n>\d+)\. (?P<x>.+)")
MAP_ROW = re.compile(r"\[(?:\d+|-+)\](?: \[(?:\d+|-+)\])*")
QUESTION_ITEM = re.compile(r"(?P<l>[A-Z])\. (?P<x>.+)")
FORMAT_ITEM = re.compile(r"(?P<l>[A-Z])\. (?P<x>SUSPECT|WEAPON|ROOM|TIME|MOTIVE)")


def looks_native(prompt: str) -> bool:
    return "\nClues:\n" in prompt and "\nRules:\n" in prompt


def parse_native(prompt: str) -> ParsedPuzzle:
    items: dict[str, list] = {name: [] for name in set(HEADINGS.values()) | {"map", "format"}}
    motive_heading = None
    map_dashes = None
    section = "intro"
    for no, raw in enumerate(prompt.split("\n"), start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        if line in HEADINGS:
            section = HEADINGS[line]
            if section == "motives":
                motive_heading = line
            continue
        heading = MAP_HEADING.fullmatch(line)
        if heading:
            section, map_dashes = "map", len(heading["dashes"])
            continue
        if line.startswith("Answer format:"):
            section = "format-intro"
            continue
        if section == "intro":
            continue  # the opening story
        if section == "format-intro":
            if FORMAT_ITEM.fullmatch(line):
                section = "format"
            else:
                continue  # the rest of the answer-format instruction
        pattern = {"suspects": DASH, "weapons": DASH, "times": DASH, "motives": MOTIVE_ITEM,
                   "rooms": NUMBERED, "rules": NUMBERED, "map": MAP_ROW, "clues": DASH,
                   "questions": QUESTION_ITEM, "bonus": QUESTION_ITEM,
                   "format": FORMAT_ITEM}[section]
        m = pattern.fullmatch(line)
        if m is None:
            raise ParseError(f"unexpected line in the {section} section", line, no)
        items[section].append((no, line, m))

    suspects = [m["x"] for _, _, m in items["suspects"]]
    weapons = [m["x"] for _, _, m in items["weapons"]]
    times = [m["x"] for _, _, m in items["times"]]
    rooms = []
    for i, (no, line, m) in enumerate(items["rooms"], start=1):
        if int(m["n"]) != i:
            raise ParseError(f"room number {m['n']} out of order (expected {i})", line, no)
        rooms.append(m["x"])
    width = len(str(len(rooms)))
    if map_dashes is None:
        raise ParseError("no map section")
    if map_dashes != width:
        raise ParseError(f"the map heading's empty cell has {map_dashes} dashes, the cells are "
                         f"{width} wide")
    cells = {}
    for row, (no, line, _) in enumerate(items["map"]):
        for col, cell in enumerate(line.split(" ")):
            inner = cell[1:-1]
            if inner == "-" * width:
                continue
            if len(inner) != width or not inner.isdigit() or not 1 <= int(inner) <= len(rooms):
                raise ParseError(f"map cell {cell} is not a room number of width {width}", line, no)
            if rooms[int(inner) - 1] in cells:
                raise ParseError(f"room {inner} appears twice on the map", line, no)
            cells[rooms[int(inner) - 1]] = (row, col)

    expected = [r for i, r in enumerate(RULES) if len(times) > 1 or i not in MULTI_TIME_ONLY]
    stated = [m["x"] for _, _, m in items["rules"]]
    for i, (no, line, m) in enumerate(items["rules"]):
        if int(m["n"]) != i + 1:
            raise ParseError(f"rule number {m['n']} out of order (expected {i + 1})", line, no)
        if i >= len(expected) or m["x"] != expected[i]:
            raise ParseError("a rule the verifier does not implement (docs/puzzle-format.md)",
                             line, no)
    if len(stated) != len(expected):
        raise ParseError(f"the rules section states {len(stated)} rules, expected "
                         f"{len(expected)}")

    if motive_heading is None:
        raise ParseError("no motives section")
    motives, mode, counts = motive_rule(items, motive_heading == UNIQUE_MOTIVES)

    lex = Lexicon(suspects, weapons, rooms, times, motives, indefinite_motive=False)
    return assemble_puzzle("native", lex, cells, mode, counts, items)
