"""Grading a completion against a puzzle's answer key (method.md section 5).

`grade(completion, solution, mode)` is the fraction of the key's letters answered correctly;
`grade_details` gives the parsed answer and verdict per letter. For every letter the LAST
answer in the completion counts.

mode="fixed" (this project's grader) reads ANSWER LINES: a line that, after optional leading
markup (spaces, `>`, `#`, list bullets `-` `+` `*` `•`, emphasis `*` `_` and backticks),
starts with an upper-case question letter written `A.`, `A:`, `A)`, `(A)` or `[A]` (emphasis
may wrap the marker, as in `**A.**`), then a space or the end of the emphasis, then the answer
to the end of the line. A markdown table row `| A | answer |` counts too. Letters inside a
sentence do not start an answer; an answer line inside the reasoning does (the last one wins).
The answer is cleaned before comparing: emphasis characters, backticks and surrounding quotes
removed, a trailing parenthetical remark and trailing `.,;:!` dropped, a question echoed before
the answer dropped (`A. Who murdered Mr. Boddy? Miss Scarlet`), a short label before a colon
dropped (`A. Murderer: Miss Scarlet`), a leading "the" dropped,
whitespace collapsed, case ignored; times compare as clock times (`11:30 PM`, `11:30 pm`,
`11:30PM`, `11:30 p.m.` and `9:00 PM` vs `09:00 PM` are equal). Lines that only echo a question
(ending in `?`) or the answer template (`A. SUSPECT`, `ROOM`, ...) are not answers.

mode="compat" reproduces the original's scoring exactly: for each letter L, the non-overlapping
left-to-right matches, anywhere in the text, of `L. ` (case-sensitive letter, period, one space)
followed by a maximal run of ASCII letters, spaces, periods, colons and hyphens; the last
match's run, stripped and lower-cased, must equal the lower-cased key. Times never match (no
digits) and `**A.** X` fails, as in the original.

Both modes run in time linear in the completion's length (no nested quantifiers) and accept any
string; a non-string completion is read as text (bytes decoded with replacement, None as "").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MODES = ("fixed", "compat")
DEFAULT_MODE = "fixed"  # the one place the default grader is named
MAX_ANSWER = 1000
PLACEHOLDERS = frozenset({"SUSPECT", "WEAPON", "ROOM", "TIME", "MOTIVE", "ANSWER"})

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
_SPACES = re.compile(r"\s+")
_LABEL = re.compile(r"[ \t]*[A-Za-z][A-Za-z' ]{0,40}:[ \t]+(\S.*)")


def _as_text(completion) -> str:
    if isinstance(completion, str):
        return completion
    if completion is None:
        return ""
    if isinstance(completion, (bytes, bytearray)):
        return bytes(completion).decode("utf-8", errors="replace")
    return str(completion)


def normalize(answer: str) -> str:
    """Canonical form of one answer for comparison (both the key's and the completion's).
    Answers longer than MAX_ANSWER characters are cut there (no name is nearly that long)."""
    text = str(answer)[:MAX_ANSWER]
    for char in "*_`":
        text = text.replace(char, "")
    text = _SPACES.sub(" ", text).strip()
    for _ in range(3):  # bounded: "Library (room). " and the like
        if text.endswith(")") and "(" in text:  # a trailing parenthetical remark
            text = text[:text.rindex("(")]
        text = text.strip(" \t\"'“”‘’").rstrip(".,;:!").strip()
    time = _TIME.fullmatch(text)
    if time:
        hour, minute, half = int(time[1]), int(time[2]), time[3].upper()
        return f"{hour:02d}:{minute:02d} {half}M"
    text = text.casefold()
    if text.startswith("the "):
        text = text[4:].strip()
    return text


def _clean_fixed(raw: str) -> str | None:
    """The answer on an answer line, or None when the line is not an answer."""
    text = raw.strip()[:MAX_ANSWER]
    if "?" in text:
        text = text[text.rindex("?") + 1:].strip(" \t-–—:")
    bare = text.strip(" \t*_`")
    if not bare or bare in PLACEHOLDERS:
        return None
    label = _LABEL.match(text.replace("*", "").replace("_", "").replace("`", ""))
    if label:  # "Murderer: Miss Scarlet"
        return label.group(1)
    return text


def _fixed_answers(text: str, letters) -> dict[str, str]:
    """Letter -> the last answer given for it (by position in the text)."""
    wanted = set(letters)
    found: dict[str, tuple[int, str]] = {}
    for match in _ANSWER_LINE.finditer(text):
        letter = match.group(1) or match.group(2) or match.group(3)
        if letter in wanted:
            answer = _clean_fixed(match.group(4))
            if answer is not None:
                found[letter] = max(found.get(letter, (-1, "")), (match.start(), answer))
    for match in _TABLE_ROW.finditer(text):
        letter = match.group(1)
        if letter in wanted:
            answer = _clean_fixed(match.group(2))
            if answer is not None:
                found[letter] = max(found.get(letter, (-1, "")), (match.start(), answer))
    return {letter: answer for letter, (_, answer) in found.items()}


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

    def listed_share(self, options: dict[str, list[str]]) -> float:
        """Share of the letters answered with one of the puzzle's listed options for that
        question (right or wrong, compared like answers are). 1.0 means a complete answer block:
        a random pick from the lists scores chance on it, so accuracy above chance on complete
        blocks is deduction, not format."""
        if not self.letters:
            return 0.0
        hits = sum(listed_position(grade.answer, options.get(letter, ())) is not None
                   for letter, grade in self.letters.items())
        return hits / len(self.letters)

    def to_dict(self) -> dict:
        return {"mode": self.mode, "score": self.score,
                "letters": {k: {"expected": v.expected, "answer": v.answer, "correct": v.correct}
                            for k, v in self.letters.items()}}


def grade_details(completion, solution: dict, mode: str = DEFAULT_MODE) -> GradeDetails:
    if mode not in MODES:
        raise ValueError(f"unknown grader mode {mode!r}; expected one of {', '.join(MODES)}")
    text = _as_text(completion)
    letters = sorted(str(k) for k in solution)
    expected = {str(k): str(v) for k, v in solution.items()}
    if mode == "fixed":
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        answers = _fixed_answers(text, letters)
        correct = {l: l in answers and normalize(answers[l]) == normalize(expected[l])
                   for l in letters}
    else:
        answers = _compat_answers(text, letters)
        correct = {l: l in answers and answers[l].strip().lower() == expected[l].lower()
                   for l in letters}
    shown = {l: a if len(a) <= MAX_ANSWER else a[:MAX_ANSWER] + "..." for l, a in answers.items()}
    details = {l: LetterGrade(expected[l], shown.get(l), correct[l]) for l in letters}
    score = sum(correct.values()) / len(letters) if letters else 0.0
    return GradeDetails(mode, score, details)


def grade(completion, solution: dict, mode: str = DEFAULT_MODE) -> float:
    """Fraction of the solution's letters answered correctly (the last answer per letter)."""
    return grade_details(completion, solution, mode).score
