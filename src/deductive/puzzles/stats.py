"""Statistics of a puzzle file (method.md section 6), for this project's format and the original.

Each puzzle is described from its prompt text (and, for this project's records, the recorded
shape, questions and clue kinds), so generated splits and the published puzzles are measured
the same way.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter

from deductive.puzzles.clues import KINDS
from deductive.puzzles.formats import Puzzle

_ORIGINAL_MARK = "The available clues are as follows:"
_QUESTION = re.compile(r"^[A-Z]\. ")


def _sections(prompt: str) -> list[list[str]]:
    return [block.split("\n") for block in prompt.split("\n\n")]


def classify(sentence: str) -> str:
    """The clue kind of one clue sentence, in either wording."""
    s = sentence.strip().lstrip("-").strip().rstrip(".")
    if " if and only if " in s:
        return "iff"
    if s.startswith("Either ") or " or " in s:
        return "or"
    if re.search(r" moved the .+ from ", s):
        return "weapon_move"
    if " moved from " in s:
        return "move"
    if " together " in s and s.endswith(" at least once"):
        return "together"
    if " same room as " in s:
        return "same_room"
    if re.search(r" (just|directly) (north|south|east|west) of ", s):
        return "spatial"
    if re.search(r" (is|was) motivated by [A-Z]\w*$", s):
        return "motive"
    if re.search(r"(was murdered at|murder took place at) ", s):
        return "time"
    if re.search(r"killed with |^The murder weapon was the [A-Z][\w ]*$", s):
        return "weapon"
    if re.search(r"(was murdered in|murder took place in) ", s):
        return "room"
    if re.search(r"murderer's motive|murdered .*(for|out of) ", s):
        return "murder_motive"
    if re.search(r"^The murderer was [A-Z]|murdered by |murdered Mr\. Boddy", s):
        return "murderer"
    if re.search(r" was (in|at) the ", s):
        if re.match(r"(The|A|the|a) suspect motivated by ", s):
            return "motive_location"
        return "location"
    return "other"


def _list_after(lines: list[str]) -> list[str]:
    return [ln for ln in lines[1:] if ln.strip()]


def describe(puzzle: Puzzle) -> dict:
    """Per-puzzle numbers: clues, sizes, questions, prompt characters and clue kinds."""
    prompt = puzzle.prompt
    out: dict = {"chars": len(prompt)}
    if _ORIGINAL_MARK in prompt:
        body = prompt.split(_ORIGINAL_MARK, 1)
        clue_lines = [ln for ln in body[1].split("\n\n")[1].split("\n") if ln.startswith("- ")]
        blocks = _sections(prompt)

        def bullets_after(marker: str) -> int:
            for k, block in enumerate(blocks):
                if marker in block[-1] and k + 1 < len(blocks):
                    return len([ln for ln in blocks[k + 1] if ln.strip()])
            return 0

        out["suspects"] = bullets_after("identified as suspects:")
        out["weapons"] = bullets_after("weapons were found on the premises:")
        out["rooms"] = bullets_after("in one of the following rooms:")
        out["times"] = bullets_after("one of the following times:") or 1
        out["motives"] = bullets_after("motives for killing Mr. Boddy:")
        out["main"] = bullets_after("answer the following question(s):")
        out["bonus"] = bullets_after("following bonus question(s):")
    else:
        heads = {block[0]: block for block in _sections(prompt)}
        by_prefix = lambda p: next((b for h, b in heads.items() if h.startswith(p)), [p])  # noqa: E731
        clue_lines = _list_after(by_prefix("Clues:"))
        for key, head in (("suspects", "Suspects:"), ("weapons", "Weapons:"),
                          ("rooms", "Rooms:"), ("times", "Times"), ("motives", "Motives")):
            out[key] = len(_list_after(by_prefix(head)))
        out["main"] = len([ln for ln in _list_after(by_prefix("Questions:")) if _QUESTION.match(ln)])
        out["bonus"] = len([ln for ln in _list_after(by_prefix("Bonus questions:"))
                            if _QUESTION.match(ln)])
    out["clues"] = len(clue_lines)
    recorded = puzzle.extra.get("clue_kinds")
    out["kinds"] = dict(recorded) if isinstance(recorded, dict) else dict(
        Counter(classify(ln) for ln in clue_lines))
    return out


def _numbers(values: list[float]) -> dict:
    return {"median": statistics.median(values), "mean": round(statistics.fmean(values), 3),
            "min": min(values), "max": max(values)}


def summarize(puzzles: list[Puzzle]) -> dict:
    rows = [describe(p) for p in puzzles]
    if not rows:
        raise ValueError("no puzzles")
    out: dict = {"puzzles": len(rows)}
    for key in ("clues", "suspects", "weapons", "rooms", "times", "motives", "main", "bonus",
                "chars"):
        out[key] = _numbers([r[key] for r in rows])
    out["with_two_or_more_times"] = sum(1 for r in rows if r["times"] >= 2)
    out["main_questions_histogram"] = {str(k): v for k, v in
                                       sorted(Counter(r["main"] for r in rows).items())}
    totals: Counter = Counter()
    for r in rows:
        totals.update(r["kinds"])
    n = sum(totals.values())
    order = [k for k in KINDS if k in totals] + sorted(k for k in totals if k not in KINDS)
    out["clue_kinds"] = {k: {"count": totals[k], "share": round(totals[k] / n, 4)} for k in order}
    return out


def format_summary(summary: dict, title: str) -> str:
    lines = [f"{title}: {summary['puzzles']} puzzles"]
    labels = {"clues": "clues", "suspects": "suspects", "weapons": "weapons", "rooms": "rooms",
              "times": "times", "motives": "motives", "main": "main questions",
              "bonus": "bonus questions", "chars": "prompt characters"}
    for key, label in labels.items():
        v = summary[key]
        lines.append(f"  {label:<18} median {v['median']:>7}  mean {v['mean']:>9}  "
                     f"min {v['min']:>5}  max {v['max']:>6}")
    lines.append(f"  puzzles with >= 2 times: {summary['with_two_or_more_times']}")
    lines.append("  main questions: " + ", ".join(
        f"{k}: {v}" for k, v in summary["main_questions_histogram"].items()))
    lines.append("  clue kinds: " + ", ".join(
        f"{k} {100 * v['share']:.1f}%" for k, v in summary["clue_kinds"].items()))
    if "overlap" in summary:  # deductive.puzzles.content.overlap
        o = summary["overlap"]
        lines.append(f"  distinct: {o['distinct_exact']} contents, {o['distinct_pattern']} patterns (names abstracted)")
        for other, n in o["against"].items():
            lines.append(f"  repeating {other}: {n['exact']} puzzles by content, {n['pattern']} by pattern "
                         f"({n['patterns_shared']} patterns shared)")
    return "\n".join(lines)
