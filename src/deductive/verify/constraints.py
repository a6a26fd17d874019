"""The parsed form of a Temporal Clue puzzle: what the prompt says, nothing more.

Both prompt dialects (the original's published text and this project's native text) parse
into a `ParsedPuzzle`; the solver (`solve.py`) turns one into a CP-SAT model. Nothing here
depends on the generator: the verifier is an independent second reading of the prompt.

Entities in clues are `Ref`s: a concrete piece (a suspect, a weapon, Mr. Boddy) or a
description that picks one out in a world (`the murderer`, `the murder weapon`,
`the suspect motivated by M`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

BODDY = "Mr. Boddy"
DIRECTIONS = ("north", "south", "east", "west")
# Answer type written in the prompt's answer-format block, per question kind.
ANSWER_TYPES = {
    "murderer": "SUSPECT", "weapon": "WEAPON", "room": "ROOM", "time": "TIME",
    "motive": "MOTIVE", "where": "ROOM", "motive_of": "MOTIVE", "who_motive": "SUSPECT",
}


class ParseError(ValueError):
    """The prompt does not follow the dialect's grammar; names the offending line."""

    def __init__(self, reason: str, line: str | None = None, line_no: int | None = None):
        self.reason = reason
        self.line = line
        self.line_no = line_no
        where = f" (prompt line {line_no})" if line_no is not None else ""
        text = f": {line!r}" if line is not None else ""
        super().__init__(f"{reason}{where}{text}")


@dataclass(frozen=True)
class Ref:
    """kind: suspect | weapon | boddy | murderer | murder_weapon | motive (name = the motive)."""
    kind: str
    name: str | None = None

    @property
    def is_suspect_like(self) -> bool:
        return self.kind in ("suspect", "murderer", "motive")

    @property
    def is_weapon_like(self) -> bool:
        return self.kind in ("weapon", "murder_weapon")


# Clue atoms and connectives. Times are strings from `ParsedPuzzle.times`.
@dataclass(frozen=True)
class At:
    who: Ref
    room: str
    time: str


@dataclass(frozen=True)
class HasMotive:
    who: Ref
    motive: str


@dataclass(frozen=True)
class MurderFact:
    """field: murderer (Ref) | weapon | room | time | motive (str values)."""
    field: str
    value: Union[str, Ref]


@dataclass(frozen=True)
class SameRoom:
    a: Ref
    b: Ref
    time: str


@dataclass(frozen=True)
class Together:
    """`a` and `b` were both in `room` at some listed time."""
    a: Ref
    b: Ref
    room: str


@dataclass(frozen=True)
class Moved:
    who: Ref
    src: str
    dst: str
    time: str


@dataclass(frozen=True)
class MovedWeapon:
    who: Ref
    weapon: Ref
    src: str
    dst: str
    time: str


@dataclass(frozen=True)
class Beside:
    """`a` was in the room `direction` of `b`'s room: adjacent (`distance` 'just'), or anywhere
    further along the same column/row ('due')."""
    a: Ref
    b: Ref
    direction: str
    time: str
    distance: str = "just"


@dataclass(frozen=True)
class Xor:
    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class Iff:
    left: "Node"
    right: "Node"


Node = Union[At, HasMotive, MurderFact, SameRoom, Together, Moved, MovedWeapon, Beside, Xor, Iff]


@dataclass(frozen=True)
class Clue:
    node: Node
    text: str
    line_no: int


@dataclass(frozen=True)
class Question:
    """kind: murderer | weapon | room | time | motive (the murderer's) | where (subject at time) |
    motive_of (subject's motive) | who_motive (the suspect with motive `motive`)."""
    letter: str
    kind: str
    text: str
    line_no: int
    subject: Ref | None = None
    time: str | None = None
    motive: str | None = None
    bonus: bool = False

    @property
    def answer_type(self) -> str:
        return ANSWER_TYPES[self.kind]


@dataclass
class ParsedPuzzle:
    dialect: str  # "original" | "native"
    suspects: list[str]
    weapons: list[str]
    rooms: list[str]
    cells: dict[str, tuple[int, int]]  # room -> (row from the north, column from the west)
    times: list[str]
    # "unique": every listed motive belongs to exactly one suspect; "counts": `motive_counts`
    # are exact; "none": the prompt lists no motives (one unnamed motive, never asked about).
    motive_mode: str
    motives: list[str]
    motive_counts: dict[str, int] | None
    clues: list[Clue]
    questions: list[Question]
    answer_types: dict[str, str] = field(default_factory=dict)  # letter -> type in format block

    def check(self) -> None:
        """Whole-puzzle consistency that no single line can show."""
        for kind, names in (("suspect", self.suspects), ("weapon", self.weapons),
                            ("room", self.rooms), ("time", self.times), ("motive", self.motives)):
            if len(set(names)) != len(names):
                raise ParseError(f"a {kind} is listed twice")
        if not self.suspects or not self.weapons or not self.rooms or not self.times:
            raise ParseError("the prompt must list suspects, weapons, rooms and times")
        if set(self.cells) != set(self.rooms):
            raise ParseError("the map does not show every listed room exactly once")
        if len(set(self.cells.values())) != len(self.cells):
            raise ParseError("two rooms share a map cell")
        if self.motive_mode == "unique" and len(self.motives) != len(self.suspects):
            raise ParseError(f"motives are one per suspect but {len(self.motives)} motives are "
                             f"listed for {len(self.suspects)} suspects")
        if self.motive_mode == "counts":
            total = sum(self.motive_counts.values())
            if total != len(self.suspects):
                raise ParseError(f"motive counts add up to {total}, not to the "
                                 f"{len(self.suspects)} suspects")
        letters = [q.letter for q in self.questions]
        if len(set(letters)) != len(letters):
            raise ParseError("a question letter is used twice")
        if self.answer_types:
            if sorted(self.answer_types) != sorted(letters):
                raise ParseError(f"the answer format lists letters {sorted(self.answer_types)} "
                                 f"but the questions are {sorted(letters)}")
            for q in self.questions:
                if self.answer_types[q.letter] != q.answer_type:
                    raise ParseError(f"answer format says {self.answer_types[q.letter]} for "
                                     f"question {q.letter}, which asks for a {q.answer_type}",
                                     q.text, q.line_no)
