"""The independent verifier: published puzzles, failures it must catch, both dialects, CLI."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import PUBLISHED_VAL, ROOT
from deductive.puzzles.formats import Puzzle, load_puzzles
from deductive.verify.constraints import (At, Beside, HasMotive, Iff, MurderFact, Moved,
                                          MovedWeapon, ParseError, Ref, SameRoom, Together, Xor)
from deductive.verify.solve import Readings
from deductive.verify.verify import parse_prompt, verify_puzzle

SCRIPT = ROOT / "scripts" / "verify_puzzles.py"


@pytest.fixture(scope="module")
def published():
    return load_puzzles(PUBLISHED_VAL)


def _replace_line(puzzle: Puzzle, old: str, new: str | None) -> Puzzle:
    lines = puzzle.prompt.split("\n")
    assert old in lines, old
    i = lines.index(old)
    lines = lines[:i] + ([new] if new is not None else []) + lines[i + 1:]
    return Puzzle(puzzle.id, "\n".join(lines), dict(puzzle.solution))


def test_every_published_val_puzzle_verifies(published):
    start = time.monotonic()
    verdicts = [verify_puzzle(p) for p in published]
    failed = [v.line() for v in verdicts if not v.ok]
    assert len(published) == 64
    assert not failed, failed
    assert {v.dialect for v in verdicts} == {"original"}
    assert time.monotonic() - start < 180  # ~10 s measured on 2 busy cores


def test_tampered_key_is_a_mismatch(published):
    p = published[0]
    key = dict(p.solution, B="Rope")  # the key says Horseshoe
    v = verify_puzzle(Puzzle(p.id, p.prompt, key))
    assert not v.ok and v.kind == "mismatch"
    assert "question B: key says 'Rope', the only solution says 'Horseshoe'" in v.message


def test_key_with_other_letters_is_rejected(published):
    p = published[0]
    key = {k: v for k, v in p.solution.items() if k != "H"}
    v = verify_puzzle(Puzzle(p.id, p.prompt, key))
    assert not v.ok and v.kind == "key"


def test_removing_a_clue_gives_several_solutions_with_the_differing_answer(published):
    p = _replace_line(published[2], "- Mrs. Peacock is motivated by Betrayal", None)
    v = verify_puzzle(p)
    assert not v.ok and v.kind == "ambiguous"
    m = re.fullmatch(r"several solutions: question E can be '(.+)' or '(.+)'", v.message)
    assert m, v.message
    motives = parse_prompt(p.prompt).motives
    assert m[1] != m[2] and m[1] in motives and m[2] in motives


def test_world_ambiguity_is_caught_even_when_every_answer_is_forced(published):
    # Without this clue every question still has one answer, but Miss Scarlet's room at
    # 01:00 AM is open: the puzzle no longer has exactly one solution.
    p = _replace_line(published[1], "- Miss Scarlet was in the same room as Sgt. Gray at 01:00 AM",
                      None)
    v = verify_puzzle(p)
    assert not v.ok and v.kind == "ambiguous"
    assert re.fullmatch(r"several solutions: every answer is forced but the world is not: "
                        r"where .+ was at .+ can be '.+' or '.+'", v.message), v.message


def test_mangled_clue_is_a_parse_error_quoting_the_line(published):
    p = published[0]
    bad = "- Mr. Green was at the Fountain around 12:00 AM"
    q = _replace_line(p, "- Mr. Green was at the Fountain at 12:00 AM", bad)
    v = verify_puzzle(q)
    assert not v.ok and v.kind == "parse"
    assert repr(bad) in v.message and "prompt line" in v.message


def test_unknown_name_is_a_parse_error(published):
    p = published[0]
    q = _replace_line(p, "- Madame Rose was in the Dining Room at 03:00 AM",
                      "- Madame Rose was in the Attic at 03:00 AM")
    v = verify_puzzle(q)
    assert v.kind == "parse" and "Attic" in v.message


def test_inclusive_or_makes_published_puzzles_ambiguous(published):
    # Exclusive "or" is part of the puzzle semantics: read inclusively, some published puzzles
    # have several solutions (val-0008 is one of them).
    inclusive = Readings(exclusive_or=False)
    v = verify_puzzle(published[8], readings=inclusive)
    assert not v.ok and v.kind == "ambiguous"
    assert verify_puzzle(published[8]).ok


def test_body_and_weapon_readings_matter(published):
    assert not verify_puzzle(published[0], readings=Readings(body_stays=False)).ok
    assert not verify_puzzle(published[0], readings=Readings(weapons_carried=False)).ok


# -- original sentence forms, including those absent from the 64 val puzzles ---------------
def _original_grammar(published):
    from deductive.verify.clauses import ClueGrammar
    from deductive.verify.lexicon import Lexicon
    parsed = parse_prompt(published[0].prompt)
    lex = Lexicon(parsed.suspects, parsed.weapons, parsed.rooms, parsed.times, parsed.motives,
                  indefinite_motive=True)
    return ClueGrammar(lex, "original")


@pytest.mark.parametrize("text, expected", [
    ("Mr. Boddy was murdered by Mr. Green", MurderFact("murderer", "Mr. Green")),
    ("Mr. Boddy was murdered by a suspect motivated by Fear", MurderFact("motive", "Fear")),
    ("Mr. Boddy was murdered by the suspect motivated by Fear", MurderFact("motive", "Fear")),
    ("Mr. Boddy was killed with the Rope", MurderFact("weapon", "Rope")),
    ("Mr. Boddy was murdered in the Lounge", MurderFact("room", "Lounge")),
    ("Mr. Boddy was murdered at 11:00 PM", MurderFact("time", "11:00 PM")),
    ("Mr. Green is motivated by Fear", HasMotive(Ref("suspect", "Mr. Green"), "Fear")),
    ("A suspect motivated by Fear was at the Fountain at 08:00 PM",
     At(Ref("motive", "Fear"), "Fountain", "08:00 PM")),
    ("The murder weapon was in the Lounge at 08:00 PM",
     At(Ref("murder_weapon"), "Lounge", "08:00 PM")),
    ("The Knife was in the same room as Mr. Boddy at 09:00 PM",
     SameRoom(Ref("weapon", "Knife"), Ref("boddy"), "09:00 PM")),
    ("The murderer and the Rope were at the Fountain together at least once",
     Together(Ref("murderer"), Ref("weapon", "Rope"), "Fountain")),
    ("Mr. Boddy moved from the Lounge to the Studio at 09:00 PM",
     Moved(Ref("boddy"), "Lounge", "Studio", "09:00 PM")),
    ("Sgt. Gray moved the murder weapon from the Lounge to the Studio at 09:00 PM",
     MovedWeapon(Ref("suspect", "Sgt. Gray"), Ref("murder_weapon"), "Lounge", "Studio",
                 "09:00 PM")),
    ("A suspect motivated by Greed moved the Knife from the Lounge to the Studio at 09:00 PM",
     MovedWeapon(Ref("motive", "Greed"), Ref("weapon", "Knife"), "Lounge", "Studio",
                 "09:00 PM")),
    ("Mr. Boddy was in a room due west of the Knife at 09:00 PM",
     Beside(Ref("boddy"), Ref("weapon", "Knife"), "west", "09:00 PM", "due")),
    ("The murderer was in the Lounge at 09:00 PM or a suspect motivated by Fear was in the "
     "Studio at 10:00 PM",
     Xor(At(Ref("murderer"), "Lounge", "09:00 PM"), At(Ref("motive", "Fear"), "Studio",
                                                        "10:00 PM"))),
    ("A suspect motivated by Fear was in the Lounge at 09:00 PM if and only if the Knife was "
     "at the Fountain at 10:00 PM",
     Iff(At(Ref("motive", "Fear"), "Lounge", "09:00 PM"), At(Ref("weapon", "Knife"),
                                                            "Fountain", "10:00 PM"))),
])
def test_original_sentence_forms(published, text, expected):
    assert _original_grammar(published).sentence(text) == expected


@pytest.mark.parametrize("text", [
    "Mr. Green was in the Lounge",  # no time, but several times are listed
    "Mr. Green moved from the Lounge to the Studio at 08:00 PM",  # first time: no move
    "Mr. Green was in the Lounge at 08:00 PM or",
    "Mr. Green was in the Lounge at 07:00 PM",  # unlisted time
])
def test_original_bad_sentences(published, text):
    with pytest.raises(ParseError):
        _original_grammar(published).sentence(text)


SINGLE_TIME_ORIGINAL = """\
On a dark winter night, a dinner party at Tudor Mansion ended in murder. The following persons of interest have been identified as suspects:

• Mr. Green
• Miss Peach

And the following weapons were found on the premises:

• Rope
• Knife

The murder could only have occured in one of the following rooms:

1. Hall
2. Study

The rooms are laid out as follows:

  N N  
W 1|2 E
  S S  

Each suspect had one of the following possible motives for killing Mr. Boddy:

• Greed (2 suspects)

For the murder to occur, the murderer and Mr. Boddy must have been alone in a room with at least one weapon.

The available clues are as follows:

- The murderer was at the Fountain
- Miss Peach was in the room just east of the Knife
- Mr. Green was in the same room as the Rope
- The Rope was in the Study

Please answer the following question(s):

A. Who murdered Mr. Boddy?
B. What weapon did the murderer use?
C. Where was the murder committed?

And the following bonus question(s):



Fill out your final answers in the following format:

A. SUSPECT
B. WEAPON
C. ROOM

Best of luck, detective."""


def test_single_time_original_puzzle():
    # One time: no times section, no " at <time>" anywhere, no motives worth naming.
    prompt = SINGLE_TIME_ORIGINAL
    with_fountain = Puzzle("one-time", prompt, {"A": "Miss Peach", "B": "Knife", "C": "Hall"})
    v = verify_puzzle(with_fountain)
    assert v.kind == "parse" and "The murderer was at the Fountain" in v.message  # no Fountain
    prompt = prompt.replace("- The murderer was at the Fountain\n", "")
    # Peach east of the Knife: Peach in Study, Knife in Hall; Green with the Rope in Study,
    # so Peach is not alone; the murder is in the Hall... where nobody is: contradiction.
    v = verify_puzzle(Puzzle("one-time", prompt, {"A": "Miss Peach", "B": "Knife", "C": "Hall"}))
    assert v.kind == "contradiction"
    prompt = prompt.replace("- Mr. Green was in the same room as the Rope\n",
                            "- Mr. Green was in the same room as the Knife\n")
    # Now Green is alone with the Knife in the Hall and Peach alone with the Rope in the Study.
    v = verify_puzzle(Puzzle("one-time", prompt, {"A": "Mr. Green", "B": "Knife", "C": "Hall"}))
    assert v.kind == "ambiguous" and "question A can be" in v.message
    prompt = prompt.replace("- The Rope was in the Study",
                            "- The Rope was in the Study\n- Mr. Boddy was killed with the Knife")
    v = verify_puzzle(Puzzle("one-time", prompt, {"A": "Mr. Green", "B": "Knife", "C": "Hall"}))
    assert v.ok, v.line()


# -- native dialect --------------------------------------------------------------------------
RULES = (ROOT / "docs" / "puzzle-format.md").read_text(encoding="utf-8")
RULES = RULES[RULES.index("Rules:\n1. "):]
RULES = RULES[:RULES.index("```")].rstrip("\n")

NATIVE = f"""\
Mr. Boddy, the host of a dinner party at Tudor Mansion, was found dead in the early hours of the morning. Work out who killed him, with which weapon, in which room, at what time and for what motive, using only the rules and clues below. Exactly one account of the night agrees with all of them.

Suspects:
- Miss Scarlet
- Colonel Mustard

Weapons:
- Knife
- Rope

Rooms:
1. Kitchen
2. Ballroom
3. Hall

Map (north is at the top; rooms that share a side are adjacent; [-] is not a room):
[1] [2]
[3] [-]

Times, in order:
- 11:00 PM
- 11:30 PM

Motives (each suspect has exactly one; no two suspects share a motive):
- Revenge
- Greed

{RULES}

Clues:
- The murderer was Miss Scarlet.
- The murder took place at 11:00 PM.
- Miss Scarlet was in the Kitchen at 11:00 PM.
- Miss Scarlet was in the Kitchen at 11:30 PM.
- Colonel Mustard was in the room directly east of the Knife at 11:00 PM.
- Colonel Mustard was in the Ballroom at 11:30 PM.
- Mr. Boddy was in the Kitchen at 11:00 PM.
- The Rope was in the Hall at 11:00 PM.
- The Knife was in the same room as Mr. Boddy at 11:00 PM.
- Either the suspect motivated by Greed was in the Hall at 11:00 PM or Miss Scarlet was motivated by Revenge.

Questions:
A. Which weapon was used?
B. In which room did the murder take place?
C. What was the murderer's motive?

Bonus questions:
D. Where was the Rope at 11:30 PM?
E. What was Colonel Mustard's motive?
F. Where was Mr. Boddy at 11:30 PM?

Answer format: end your reply with one line per question: the letter, a period, a space and the answer, written exactly as in the lists above, for example:
A. WEAPON
B. ROOM
C. MOTIVE
D. ROOM
E. MOTIVE
F. ROOM"""
NATIVE_KEY = {"A": "Knife", "B": "Kitchen", "C": "Revenge", "D": "Hall", "E": "Greed",
              "F": "Kitchen"}


def test_native_prompt_verifies():
    parsed = parse_prompt(NATIVE)
    assert parsed.dialect == "native" and len(parsed.clues) == 10
    assert parsed.cells == {"Kitchen": (0, 0), "Ballroom": (0, 1), "Hall": (1, 0)}
    v = verify_puzzle(Puzzle("native-1", NATIVE, NATIVE_KEY))
    assert v.ok, v.line()


def test_native_prompt_with_a_missing_clue_is_ambiguous():
    prompt = NATIVE.replace("- The murder took place at 11:00 PM.\n", "")
    v = verify_puzzle(Puzzle("native-1", prompt, NATIVE_KEY))
    assert v.kind == "ambiguous"  # the murder could also be at 11:30 PM (no question asks)
    prompt = NATIVE.replace("- Either the suspect motivated by Greed was in the Hall at 11:00 PM "
                            "or Miss Scarlet was motivated by Revenge.\n", "")
    v = verify_puzzle(Puzzle("native-1", prompt, NATIVE_KEY))
    assert v.kind == "ambiguous" and "question C can be" in v.message


def test_native_prompt_with_other_rules_is_rejected():
    prompt = NATIVE.replace("exactly one of X and Y is true", "at least one of X and Y is true")
    v = verify_puzzle(Puzzle("native-1", prompt, NATIVE_KEY))
    assert v.kind == "parse" and "rule" in v.message


def test_native_clue_without_final_period_is_a_parse_error():
    prompt = NATIVE.replace("- The Rope was in the Hall at 11:00 PM.",
                            "- The Rope was in the Hall at 11:00 PM")
    v = verify_puzzle(Puzzle("native-1", prompt, NATIVE_KEY))
    assert v.kind == "parse" and "The Rope was in the Hall at 11:00 PM'" in v.message


# -- the command line ----------------------------------------------------------------------
def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT / "src"),
                                                    "PATH": "/usr/bin:/bin"})


def test_cli_accepts_both_file_formats_and_reports(tmp_path, published):
    original = tmp_path / "orig.json"
    original.write_text(json.dumps([{"num_clues": p.num_clues, "prompt": p.prompt,
                                     "solution": p.solution} for p in published[:3]]))
    native = tmp_path / "native.jsonl"
    records = [{"id": "n-00000", "prompt": NATIVE, "solution": NATIVE_KEY, "num_clues": 10},
               {"id": "n-00001", "prompt": NATIVE, "solution": dict(NATIVE_KEY, D="Kitchen"),
                "num_clues": 10}]
    native.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = _run(original, native)
    lines = result.stdout.strip().split("\n")
    assert result.returncode == 1
    assert lines[-1] == "verified 4 of 5 puzzles"
    assert any(l.startswith("n-00001: mismatch: ") and "question D" in l for l in lines)
    ok = _run(original)
    assert ok.returncode == 0 and ok.stdout.strip().split("\n")[-1] == "verified 3 of 3 puzzles"


def test_cli_missing_file_is_a_clear_error(tmp_path):
    result = _run(tmp_path / "nope.jsonl")
    assert result.returncode == 2
    assert "error: " in result.stderr and "nope.jsonl" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.strip().split("\n")[-1] == "verified 0 of 0 puzzles"


# -- generated puzzles -------------------------------------------------------------------------
GENERATOR = ROOT / "scripts" / "generate_puzzles.py"


@pytest.mark.skipif(not GENERATOR.exists() or importlib.util.find_spec(
    "deductive.puzzles.generator") is None, reason="the puzzle generator is not in this tree")
def test_generated_puzzles_verify(tmp_path):
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    small, wide = tmp_path / "small.jsonl", tmp_path / "wide.jsonl"
    for out, extra in ((small, ["--count", "10", "--players", "1:3"]),
                       (wide, ["--count", "2", "--shape", "4,3,10,2"])):  # a [01]-wide map
        gen = subprocess.run([sys.executable, str(GENERATOR), "--seed", "7", "--workers", "1",
                              "--out", str(out), *extra],
                             capture_output=True, text=True, cwd=ROOT, env=env)
        assert gen.returncode == 0, gen.stderr
    result = _run(small, wide)
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().split("\n")[-1] == "verified 12 of 12 puzzles"
    assert "[--] is not a room" in load_puzzles(wide)[0].prompt
