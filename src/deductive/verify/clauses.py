"""Clue and question sentences of both dialects -> `constraints` nodes.

Each dialect is a table of (template, builder) pairs; a sentence must fully match exactly the
templates of its dialect. Templates are compiled per puzzle from its names (`Lexicon`).
Original sentence forms (enumerated from the original generator's clue-rendering code; the
only single-time puzzles drop every " at 12:00 AM"):
  Mr. Boddy was murdered by S | by the/a suspect motivated by M; Mr. Boddy was killed with the
  W; Mr. Boddy was murdered in the R; Mr. Boddy was murdered at T; X was in/at the R at T;
  S is motivated by M; <location> or <location>; <location> if and only if <location>;
  X was in the same room as Y at T; X and Y were in/at the R together at least once;
  X moved from the R1 to the R2 at T; X moved the W / the murder weapon from the R1 to the R2
  at T; X was in the room just (or a room due) north/south/east/west of Y at T.
Native forms: docs/puzzle-format.md.
"""

from __future__ import annotations

import re

from deductive.verify.constraints import (Clue, ParsedPuzzle, At, Beside, HasMotive, Iff, MurderFact, Moved,
                                          MovedWeapon, ParseError, Question, Ref, SameRoom,
                                          Together, Xor)
from deductive.verify.lexicon import Lexicon


class ClueGrammar:
    def __init__(self, lex: Lexicon, dialect: str):
        self.lex = lex
        self.dialect = dialect
        L = lex
        # " at T": optional only when there is a single time (the original drops it then).
        at_t = rf"(?: at (?P<t>{L.TIME}))?"
        ent, sus, wea = L.ENTITY, L.SUSPECT_LIKE, L.WEAPON_LIKE
        if dialect == "original":
            self.location = [
                (rf"(?P<a>{ent}) was (?:in|at) the (?P<r>{L.ROOM}){at_t}", self._at),
            ]
            self.motive = [(rf"(?P<a>{L.SUS}) is motivated by (?P<m>{L.MOT})", self._motive)]
            self.top = [
                (rf"Mr\. Boddy was murdered by (?P<a>{sus})", self._murderer),
                (rf"Mr\. Boddy was killed with the (?P<w>{L.WEA})", self._fact("weapon", "w")),
                (rf"Mr\. Boddy was murdered in the (?P<r>{L.ROOM})", self._fact("room", "r")),
                (rf"Mr\. Boddy was murdered at (?P<t>{L.TIME})", self._fact("time", "t")),
                (rf"(?P<a>{ent}) was in the same room as (?P<b>{ent}){at_t}", self._same),
                (rf"(?P<a>{ent}) and (?P<b>{ent}) were (?:in|at) the (?P<r>{L.ROOM}) together"
                 rf"(?: at least once)?", self._together),
                (rf"(?P<a>{ent}) moved from the (?P<r1>{L.ROOM}) to the (?P<r2>{L.ROOM}){at_t}",
                 self._moved),
                (rf"(?P<a>{sus}) moved (?P<w>{wea}) from the (?P<r1>{L.ROOM}) to the "
                 rf"(?P<r2>{L.ROOM}){at_t}", self._moved_weapon),
                (rf"(?P<a>{ent}) was in (?:the|a) room (?P<d>just|due) "
                 rf"(?P<dir>north|south|east|west) of (?P<b>{ent}){at_t}", self._beside),
            ]
            self.xor = re.compile(r"(?P<l>.+?) or (?P<r>.+)")
            self.iff = re.compile(r"(?P<l>.+?) if and only if (?P<r>.+)")
        elif dialect == "native":
            self.location = [
                (rf"(?P<a>{ent}) was in the (?P<r>{L.ROOM}){at_t}", self._at),
            ]
            self.motive = [(rf"(?P<a>{L.SUS}) was motivated by (?P<m>{L.MOT})", self._motive)]
            self.top = [
                (rf"The murderer was (?P<a>{L.SUS})", self._murderer),
                (rf"The murder weapon was the (?P<w>{L.WEA})", self._fact("weapon", "w")),
                (rf"The murder took place in the (?P<r>{L.ROOM})", self._fact("room", "r")),
                (rf"The murder took place at (?P<t>{L.TIME})", self._fact("time", "t")),
                (rf"The murderer's motive was (?P<m>{L.MOT})", self._fact("motive", "m")),
                (rf"(?P<a>{ent}) was in the same room as (?P<b>{ent}){at_t}", self._same),
                (rf"(?P<a>{ent}) and (?P<b>{ent}) were together in the (?P<r>{L.ROOM}) "
                 rf"at least once", self._together),
                (rf"(?P<a>{ent}) moved from the (?P<r1>{L.ROOM}) to the (?P<r2>{L.ROOM}){at_t}",
                 self._moved),
                (rf"(?P<a>{sus}) moved (?P<w>{wea}) from the (?P<r1>{L.ROOM}) to the "
                 rf"(?P<r2>{L.ROOM}){at_t}", self._moved_weapon),
                (rf"(?P<a>{ent}) was in the room (?P<d>directly) "
                 rf"(?P<dir>north|south|east|west) of (?P<b>{ent}){at_t}", self._beside),
            ]
            self.xor = re.compile(r"Either (?P<l>.+?) or (?P<r>.+)")
            self.iff = re.compile(r"(?P<l>.+?) if and only if (?P<r>.+)")
        else:
            raise ValueError(dialect)
        compile_all = lambda table: [(re.compile(p), b) for p, b in table]  # noqa: E731
        self.location = compile_all(self.location)
        self.motive = compile_all(self.motive)
        self.top = compile_all(self.top)

    # -- builders -------------------------------------------------------------------------
    def _time(self, m: re.Match, *, needs_previous: bool = False) -> str:
        t = m["t"]
        if t is None:
            if len(self.lex.times) != 1:
                raise ParseError("the clue gives no time, but several times are listed")
            t = self.lex.times[0]
        if needs_previous and self.lex.times.index(t) == 0:
            raise ParseError("a move at the first listed time (there is no time before it)")
        return t

    def _at(self, m):
        return At(self.lex.ref(m["a"]), m["r"], self._time(m))

    def _motive(self, m):
        return HasMotive(self.lex.ref(m["a"]), m["m"])

    def _murderer(self, m):
        ref = self.lex.ref(m["a"])
        if ref.kind == "motive":  # "murdered by the/a suspect motivated by M"
            return MurderFact("motive", ref.name)
        if ref.kind != "suspect":
            raise ParseError("the murderer must be named")
        return MurderFact("murderer", ref.name)

    def _fact(self, field: str, group: str):
        return lambda m: MurderFact(field, m[group])

    def _same(self, m):
        return SameRoom(self.lex.ref(m["a"]), self.lex.ref(m["b"]), self._time(m))

    def _together(self, m):
        return Together(self.lex.ref(m["a"]), self.lex.ref(m["b"]), m["r"])

    def _moved(self, m):
        if m["t"] is None:
            raise ParseError("a move needs a time")
        return Moved(self.lex.ref(m["a"]), m["r1"], m["r2"], self._time(m, needs_previous=True))

    def _moved_weapon(self, m):
        if m["t"] is None:
            raise ParseError("a move needs a time")
        return MovedWeapon(self.lex.ref(m["a"]), self.lex.ref(m["w"]), m["r1"], m["r2"],
                           self._time(m, needs_previous=True))

    def _beside(self, m):
        distance = "due" if m["d"] == "due" else "just"
        return Beside(self.lex.ref(m["a"]), self.lex.ref(m["b"]), m["dir"], self._time(m),
                      distance)

    # -- sentences -------------------------------------------------------------------------
    @staticmethod
    def _first(table, text: str):
        for pattern, build in table:
            m = pattern.fullmatch(text)
            if m:
                return build(m)
        return None

    def clause(self, text: str):
        """A location or motive statement inside `or` / `if and only if`."""
        return self._first(self.location, text) or self._first(self.motive, text)

    def sentence(self, text: str):
        """One clue (without the list marker; the native dialect's final period included)."""
        if self.dialect == "native":
            if not text.endswith("."):
                raise ParseError("a clue must end with a period")
            text = text[:-1]
        node = self._first(self.top, text) or self.clause(text)
        if node is not None:
            return node
        for pattern, cls in ((self.iff, Iff), (self.xor, Xor)):
            m = pattern.fullmatch(text)
            if m:
                left, right = self.clause(m["l"]), self.clause(m["r"])
                if left is not None and right is not None:
                    return cls(left, right)
        raise ParseError("not a clue sentence of the " + self.dialect + " format")


class QuestionGrammar:
    def __init__(self, lex: Lexicon, dialect: str):
        self.lex = lex
        L = lex
        at_t = rf"(?: at (?P<t>{L.TIME}))?"
        subject = rf"(?:{L.SUS}|(?i:the) {L.WEA}|the suspect motivated by {L.MOT}|Mr\. Boddy)"
        if dialect == "original":
            fixed = {"Who murdered Mr. Boddy?": "murderer",
                     "What weapon did the murderer use?": "weapon",
                     "Where was the murder committed?": "room",
                     "When did the murder occur?": "time",
                     "Why did the murderer do it?": "motive"}
            motive_of = rf"What motivates (?P<s>{L.SUS})\?"
            who_motive = rf"Who is motivated by (?P<m>{L.MOT})\?"
        else:
            fixed = {"Who killed Mr. Boddy?": "murderer",
                     "Which weapon was used?": "weapon",
                     "In which room did the murder take place?": "room",
                     "At what time did the murder take place?": "time",
                     "What was the murderer's motive?": "motive"}
            motive_of = rf"What was (?P<s>{L.SUS})'s motive\?"
            who_motive = r"(?!x)x"
        self.fixed = fixed
        self.where = re.compile(rf"Where was (?P<a>{subject}){at_t}\?")
        self.motive_of = re.compile(motive_of)
        self.who_motive = re.compile(who_motive)

    def question(self, letter: str, text: str, line_no: int, bonus: bool) -> Question:
        common = dict(letter=letter, text=text, line_no=line_no, bonus=bonus)
        if text in self.fixed:
            return Question(kind=self.fixed[text], **common)
        m = self.where.fullmatch(text)
        if m:
            t = m["t"]
            if t is None:
                if len(self.lex.times) != 1:
                    raise ParseError("the question gives no time, but several times are listed",
                                     text, line_no)
                t = self.lex.times[0]
            return Question(kind="where", subject=self.lex.ref(m["a"]), time=t, **common)
        m = self.motive_of.fullmatch(text)
        if m:
            return Question(kind="motive_of", subject=Ref("suspect", m["s"]), **common)
        m = self.who_motive.fullmatch(text)
        if m:
            return Question(kind="who_motive", motive=m["m"], **common)
        raise ParseError("not a question of this format", text, line_no)


def motive_rule(items: dict, unique: bool | None) -> tuple[list[str], str, dict | None]:
    """(motives, mode, counts) from the motive lines; `unique` None means no motive section."""
    motives = [m["x"] for _, _, m in items["motives"]]
    counts = {m["x"]: int(m["n"]) for _, _, m in items["motives"] if m["n"] is not None}
    if unique is None:
        return motives, "none", None
    if unique:
        if counts:
            raise ParseError("motives are listed as one per suspect but carry suspect counts")
        return motives, "unique", None
    if len(counts) != len(motives):
        raise ParseError("every motive needs its suspect count")
    return motives, "counts", counts


def assemble_puzzle(dialect: str, lex: Lexicon, cells: dict, mode: str, counts: dict | None,
                    items: dict) -> ParsedPuzzle:
    """Parse the clue, question and answer-format lines of either dialect into a checked puzzle.

    `items` maps a section name to its (line number, line, match) triples; clue matches carry
    the sentence as group "x", question and format matches the letter "l" and the text "x".
    """
    grammar = ClueGrammar(lex, dialect)
    clues = []
    for no, line, m in items["clues"]:
        try:
            clues.append(Clue(grammar.sentence(m["x"]), m["x"], no))
        except ParseError as exc:
            raise ParseError(exc.reason, line, no) from None
    qgrammar = QuestionGrammar(lex, dialect)
    questions = [qgrammar.question(m["l"], m["x"], no, bonus=(section == "bonus"))
                 for section in ("questions", "bonus") for no, line, m in items[section]]
    answer_types = {m["l"]: m["x"] for _, _, m in items["format"]}
    if not clues:
        raise ParseError("no clues found")
    if not answer_types:
        raise ParseError("no answer format block found")
    puzzle = ParsedPuzzle(dialect, lex.suspects, lex.weapons, lex.rooms, cells, lex.times, mode,
                          lex.motives, counts, clues, questions, answer_types)
    puzzle.check()
    return puzzle
