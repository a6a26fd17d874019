"""Grading a completion against a puzzle's answer key.

`grade(completion, solution, mode, options=...)` is the fraction of the key's letters answered
correctly; `grade_details` gives, per letter, the answer read, the verdict and the position of
the listed option it names. `options` maps each letter to the puzzle's listed options for that
question (`deductive.evaluation.chance.options_if_parsable`); every caller passes it, None where
the prompt has no readable lists (then the key is the only option the grader knows).

mode="fixed" (this project's grader) reads ANSWER LINES: after optional markup (spaces, `>`,
`#`, bullets `-` `+` `*` `•`, emphasis, backticks) a capital question letter written `A.`, `A:`,
`A)`, `(A)` or `[A]` (emphasis may wrap it: `**A.**`), then the answer to the end of the line;
a table row `| A | answer |` too. The last answer line of a letter counts, and only that line:
text on other lines never adds or removes a name. Lines that only echo a question (ending in
`?`) or the template (`A. ROOM`) are not answers. A line scores when both hold:
- its answer equals the key after cleaning: emphasis, quotes, a trailing parenthetical, trailing
  `.,;:!`, a question echoed before it and a leading "the" dropped, and a label before a colon
  dropped when the label names no option (`A. ROOM: Hall`, `A. Murderer: Miss Scarlet`); case
  and spacing ignored; clock times compared as times (`11:30pm` = `11:30 P.M.`);
- the whole line names exactly one of the question's options (whole words, case ignored) and no
  hedge word (HEDGE_WORDS: "or", "maybe", "not", ...).
So `A. Kitchen: Hall`, `A. Kitchen or Lounge: Hall`, `A. Hall (or maybe the Kitchen)` and
`A. Not the Kitchen, the Hall` score 0 for the key "Hall".

mode="compat" reproduces the original's grader exactly, flaws included (options are ignored):
for each letter L, the non-overlapping left-to-right matches, anywhere in the text, of `L. `
(case-sensitive letter, period, one space) followed by a maximal run of ASCII letters, spaces,
periods, colons and hyphens; the last match's run, stripped and lower-cased, must equal the
lower-cased key. Times never match (no digits), `**A.** X` fails, and hedges the run stops
before (`A. Hall (or Kitchen)`) score, as in the original.

Both modes run in time linear in the completion's length and accept any string; a non-string
completion is read as text (bytes decoded with replacement, None as "").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping, Sequence

MODES = ("fixed", "compat")
DEFAULT_MODE = "fixed"  # the one place the default grader is named
MAX_ANSWER = 1000
PLACEHOLDERS = frozenset({"SUSPECT", "WEAPON", "ROOM", "TIME", "MOTIVE", "ANSWER"})
HEDGE_WORDS = frozenset({"or", "nor", "either", "neither", "maybe", "perhaps", "possibly",
                         "probably", "likely", "unlikely", "not", "unsure", "uncertain", "guess"})

# fixed mode ------------------------------------------------------------------------------
_ANSWER_LINE = re.compile(
    r"^[ \t>#*_`+\-•]*"                                   # leading markup
    r"(?:\(([A-Z])\)|\[([A-Z])\]|([A-Z])[.:)])"          # (A) | [A] | A. A: A)
    r"(?:[*_`]+[ \t]*|[ \t]+)"                           # end of emphasis and/or a space
    r"([^\n]*)$",                                        # the answer, to the end of the line
    re.MULTILINE)
_TABLE_ROW = re.compile(
    r"^[ \t]*\|[ \t*_]*([A-Z])[.:)]?[ \t*_]*\|([^|\n]*)\|", re.MULTILINE)
_TIME = re.compile(r"(\d{1,2})[:.](\d{2})[ \t]*([aApP])\.?[ \t]*[mM]\.?")
_TIME_IN_TEXT = re.compile(r"(?<!\d)" + _TIME.pattern)
_SPACES = re.compile(r"\s+")
_LABEL = re.compile(r"[ \t]*([A-Za-z][A-Za-z' ]{0,40}):[ \t]+(\S.*)")
_WORD = re.compile(r"[^\W\d_]+")


def _as_text(completion) -> str:
    if isinstance(completion, str):
        return completion
    if completion is None:
        return ""
    if isinstance(completion, (bytes, bytearray)):
        return bytes(completion).decode("utf-8", errors="replace")
    return str(completion)


def _strip_emphasis(text: str) -> str:
    for char in "*_`":
        text = text.replace(char, "")
    return text


def _clock(time: re.Match) -> str:
    return f"{int(time[1]):02d}:{int(time[2]):02d} {time[3].upper()}M"


def normalize(answer: str) -> str:
    """Canonical form of one answer for comparison (both the key's and the completion's).
    Answers longer than MAX_ANSWER characters are cut there (no name is nearly that long)."""
    text = _SPACES.sub(" ", _strip_emphasis(str(answer)[:MAX_ANSWER])).strip()
    for _ in range(3):  # bounded: "Library (room). " and the like
        if text.endswith(")") and "(" in text:  # a trailing parenthetical remark
            text = text[:text.rindex("(")]
        text = text.strip(" \t\"'“”‘’").rstrip(".,;:!").strip()
    time = _TIME.fullmatch(text)
    if time:
        return _clock(time)
    text = text.casefold()
    if text.startswith("the "):
        text = text[4:].strip()
    return text


def _searchable(text: str) -> str:
    """`text` as options are looked for in it: emphasis removed, spacing collapsed, clock times
    written one way, case ignored."""
    text = _SPACES.sub(" ", _strip_emphasis(str(text)[:MAX_ANSWER]))
    return _TIME_IN_TEXT.sub(_clock, text).casefold().strip()


@lru_cache(maxsize=1024)
def _options_pattern(forms: tuple[str, ...]) -> re.Pattern:
    """Whole-word matcher of the options' searchable forms, longest first ("Great Hall" is one
    option, not "Hall")."""
    alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def _answer_part(line: str) -> str | None:
    """The answer of an answer line (a question echoed before it dropped), or None when the line
    is not an answer (empty, a question, the template)."""
    text = line.strip()
    if "?" in text:
        text = text[text.rindex("?") + 1:].strip(" \t-–—:")
    bare = text.strip(" \t*_`")
    if not bare or bare in PLACEHOLDERS:
        return None
    return text


def _answer_lines(text: str, letters) -> dict[str, str]:
    """Letter -> its last answer line (the text after the letter, cut at MAX_ANSWER)."""
    wanted = set(letters)
    found: dict[str, tuple[int, str]] = {}
    matches = [(m.start(), m.group(1) or m.group(2) or m.group(3), m.group(4))
               for m in _ANSWER_LINE.finditer(text)]
    matches += [(m.start(), m.group(1), m.group(2)) for m in _TABLE_ROW.finditer(text)]
    for start, letter, line in matches:
        line = line[:MAX_ANSWER]
        if letter in wanted and _answer_part(line) is not None:
            found[letter] = max(found.get(letter, (-1, "")), (start, line))
    return {letter: line for letter, (_, line) in found.items()}


def _read_line(line: str, key: str, options: Sequence[str]) -> tuple[str, bool, bool]:
    """(the answer the line gives, whether it is the key, whether it hedges) for one answer
    line of a question whose listed options are `options` (the key counts as one)."""
    forms = {_searchable(option) for option in (*options, key)} - {""}
    pattern = _options_pattern(tuple(sorted(forms)))
    answer = _answer_part(line) or ""
    label = _LABEL.match(_strip_emphasis(answer))
    if label and not pattern.search(_searchable(label.group(1))):  # "ROOM: Hall", not "Kitchen: Hall"
        answer = label.group(2)
    searchable = _searchable(line)
    named = {match.group(0) for match in pattern.finditer(searchable)}
    words = set(_WORD.findall(pattern.sub(" ", searchable)))
    hedged = len(named) > 1 or bool(words & HEDGE_WORDS)
    correct = (not hedged and named == {_searchable(key)}
               and normalize(answer) == normalize(key))
    return answer, correct, hedged


# compat mode -----------------------------------------------------------------------------
def _compat_answers(text: str, letters) -> dict[str, str]:
    answers = {}
    for letter in letters:
        pattern = re.compile(re.escape(letter) + r"\. ([A-Za-z .:\-]+)")
        last = None
        for last in pattern.finditer(text):
            pass
        if last is not None:
            answers[letter] = last.group(1)
    return answers


# public ----------------------------------------------------------------------------------
def listed_position(answer: str | None, options) -> int | None:
    """The 0-based position in `options` of the option `answer` names (compared like answers
    are graded), or None when there is no answer or it names none of them."""
    if answer is None:
        return None
    wanted = normalize(answer)
    for position, option in enumerate(options):
        if normalize(option) == wanted:
            return position
    return None


@dataclass
class LetterGrade:
    expected: str
    answer: str | None  # the answer read from the completion (None: none given)
    correct: bool
    # 0-based position in the question's list of the one option the answer names; None when it
    # names none, hedges (fixed mode) or no list was given
    position: int | None = None


@dataclass
class GradeDetails:
    mode: str
    score: float
    letters: dict[str, LetterGrade] = field(default_factory=dict)

    @property
    def answered_share(self) -> float:
        """Share of the letters the completion gives an answer for, right or wrong (1.0 = a
        complete answer block): how much of a score is format and how much is deduction."""
        if not self.letters:
            return 0.0
        return sum(v.answer is not None for v in self.letters.values()) / len(self.letters)

    def listed_share(self) -> float:
        """Share of the letters answered with exactly one of the puzzle's listed options for
        that question (right or wrong). 1.0 means a complete answer block: a random pick from
        the lists scores chance on it, so accuracy above chance on complete blocks is
        deduction, not format. 0.0 when no lists were given to the grader."""
        if not self.letters:
            return 0.0
        return sum(v.position is not None for v in self.letters.values()) / len(self.letters)

    def to_dict(self) -> dict:
        return {"mode": self.mode, "score": self.score,
                "letters": {k: {"expected": v.expected, "answer": v.answer, "correct": v.correct,
                                "position": v.position}
                            for k, v in self.letters.items()}}


def grade_details(completion, solution: dict, mode: str = DEFAULT_MODE, *,
                  options: Mapping[str, Sequence[str]] | None) -> GradeDetails:
    """Per-letter grading; `options`: letter -> the puzzle's listed options for that question
    (None where the prompt has none readable)."""
    if mode not in MODES:
        raise ValueError(f"unknown grader mode {mode!r}; expected one of {', '.join(MODES)}")
    text = _as_text(completion)
    letters = sorted(str(k) for k in solution)
    expected = {str(k): str(v) for k, v in solution.items()}
    lists = {l: list((options or {}).get(l) or ()) for l in letters}
    answers: dict[str, str] = {}
    correct = dict.fromkeys(letters, False)
    hedged = dict.fromkeys(letters, False)
    if mode == "fixed":
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        for letter, line in _answer_lines(text, letters).items():
            answers[letter], correct[letter], hedged[letter] = _read_line(line, expected[letter], lists[letter])
    else:
        answers = _compat_answers(text, letters)
        correct = {l: l in answers and answers[l].strip().lower() == expected[l].lower()
                   for l in letters}
    details = {}
    for l in letters:
        answer = answers.get(l)
        shown = answer if answer is None or len(answer) <= MAX_ANSWER else answer[:MAX_ANSWER] + "..."
        position = None if hedged[l] else listed_position(answer, lists[l])
        details[l] = LetterGrade(expected[l], shown, correct[l], position)
    score = sum(correct.values()) / len(letters) if letters else 0.0
    return GradeDetails(mode, score, details)


def grade(completion, solution: dict, mode: str = DEFAULT_MODE, *,
          options: Mapping[str, Sequence[str]] | None) -> float:
    """Fraction of the solution's letters answered correctly (the last answer per letter)."""
    return grade_details(completion, solution, mode, options=options).score
