"""Generating one puzzle: world, candidate clues, irredundant selection, questions, prompt.

Puzzle i of a run with seed S draws everything from `random.Random(derive_seed(S, "puzzle",
i))`, so it depends on (S, i, sizes) only: not on worker count, order or PYTHONHASHSEED. Attempt
k > 0 of puzzle i (a replacement, when a split must not repeat another split's puzzles or keeps
only puzzles that pass a filter: deductive.puzzles.run) draws from `derive_seed(S, "puzzle", i,
"attempt", k)` instead.

Selection (method.md section 6): candidates are sorted by a per-kind bias plus U(0, 1) noise and
each, in that order, is dropped when the puzzle stays uniquely solvable without it. The result
is exactly the same as checking one clue at a time, but needs fewer solver calls:
  - runs of clues are tried together, with the run doubling after each success; if the puzzle
    stays unique without the whole run, one-at-a-time would have dropped each of them too
    (fewer clues never make a puzzle more determined);
  - a successful check returns a core: kept clues that alone make the puzzle unique; every
    following clue up to the next core member would be dropped in turn, so they go at once;
  - every alternative account the solver finds is kept; when one of them violates, among the
    clues still kept, only the clue under test, that clue is needed without another solve.
The kept set depends only on the answers unique / not unique, so it does not depend on the
solver's search path (as long as no check hits the work limit).
A check that hits the solver's deterministic work limit counts as "needed" (the puzzle stays
unique, only irredundancy is lost) and is counted in the record's `selection.undecided`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import deductive
from deductive.config import derive_seed
from deductive.puzzles.candidates import candidate_clues
from deductive.puzzles import formula as F
from deductive.puzzles.clues import KINDS, SOLUTION_KINDS, Clue, meaning, name
from deductive.puzzles.cpsat_model import WorldModel
from deductive.puzzles.prompt import MAIN_QUESTIONS, render
from deductive.puzzles.world import Shape, World, draw_shape, simulate

# Lower sorts earlier; earlier clues are more likely to be dropped. Tuned so that the kept
# clues' kind mix resembles the published puzzles' (method.md section 6).
KIND_BIAS = {
    "murderer": 0.0, "weapon": 0.0, "room": 0.0, "time": 0.0, "murder_motive": 0.0,
    "location": 0.0, "motive": 0.2, "motive_location": 1.0, "or": 0.8, "iff": 0.8,
    "same_room": 0.95, "together": 0.95, "move": 0.85, "weapon_move": 0.5, "spatial": 0.8,
}
MAX_QUESTIONS = 8
WORK_LIMIT = 30.0   # CP-SAT deterministic time per check


@dataclass
class Selection:
    kept: list[int]     # positions in the order that were kept
    checks: int
    rebuilds: int
    undecided: int


class _Checker:
    """Uniqueness checks over a shrinking set of clues (positions 0..n-1 of the sorted order).

    The CP-SAT model holds the world rules and the clues still alive; since loading a model
    into the solver dominates a check's cost, the model is rebuilt without the dropped clues
    once they make up half of it.
    """

    def __init__(self, world: World, formulas: list[tuple], work_limit: float):
        self.world, self.formulas, self.work_limit = world, formulas, work_limit
        self.checks = self.rebuilds = 0
        self._build(list(range(len(formulas))))

    def _build(self, members: list[int]) -> None:
        self.members = members
        self.slot = {j: k for k, j in enumerate(members)}
        self.model = WorldModel(self.world, [self.formulas[j] for j in members], self.work_limit)

    def check(self, assumed: list[int], alive: list[int]):
        """Unique with the clues `assumed` (a subset of the clues still `alive`)?"""
        if len(alive) <= len(self.members) // 2 and len(self.members) - len(alive) >= 16:
            self._build(alive)
            self.rebuilds += 1
        self.checks += 1
        result = self.model.check([self.slot[j] for j in assumed])
        if result.core is not None:
            result.core = [self.members[k] for k in result.core]
        return result


def select_clues(world: World, formulas: list[tuple], work_limit: float = 30.0) -> Selection:
    """Greedy irredundant selection over `formulas` in the given order (see module doc)."""
    n = len(formulas)
    checker = _Checker(world, formulas, work_limit)
    alive = [True] * n
    refuted: list[list[int]] = []    # per alternative account found: the clues it violates
    undecided = 0
    i, run = 0, 1
    while i < n:
        if any(i in v and all(j == i or not alive[j] for j in v) for v in refuted):
            i += 1                     # an alternative account needs exactly this clue gone
            continue
        block = list(range(i, min(n, i + run)))
        living = [j for j in range(n) if alive[j]]
        result = checker.check([j for j in living if not i <= j <= block[-1]], living)
        if result.unique:
            for j in block:
                alive[j] = False
            # The core's clues, all kept at this point, already make the puzzle unique, so
            # one-at-a-time would drop every following clue up to the next core member.
            core = set(result.core)
            i = block[-1] + 1
            while i < n and i not in core:
                alive[i] = False
                i += 1
            run *= 2
        elif result.unique is None:
            if len(block) == 1:
                undecided += 1         # kept: the puzzle stays unique, maybe not irredundant
                i += 1
            run = 1
        else:
            violated = [j for j in block
                        if not F.evaluate(formulas[j], result.counterexample.__getitem__)]
            refuted.append(violated)
            if len(block) == 1:
                i += 1
                run = max(1, run // 2)
            else:
                run = max(1, violated[0] - block[0])
    return Selection(kept=[j for j in range(n) if alive[j]], checks=checker.checks,
                     rebuilds=checker.rebuilds, undecided=undecided)


def _where_question(world: World, ref: tuple, time: int) -> str:
    return f"Where was {name(ref, world)} at {world.times[time]}?"


def _where_answer(world: World, ref: tuple, time: int) -> str:
    kind = ref[0]
    if kind == "suspect":
        return world.rooms[world.suspect_at[ref[1]][time]]
    if kind == "weapon":
        return world.rooms[world.weapon_at[ref[1]][time]]
    if kind == "boddy":
        return world.rooms[world.boddy_at[time]]
    suspect = world.motive_of.index(ref[1])
    return world.rooms[world.suspect_at[suspect][time]]


def questions(world: World, clues: list[Clue], kept: set[int], rng: random.Random,
              max_questions: int = MAX_QUESTIONS, main_kinds: tuple[str, ...] | None = None):
    """(main, bonus): lists of (question, answer kind, answer). Every main question whose kind
    is in `main_kinds` (None: every kind) is asked; bonus questions fill up to `max_questions`."""
    kept_clues = {clues[j] for j in kept}
    main = []
    solution = {"murderer": world.suspects[world.murderer], "weapon": world.weapons[world.weapon],
                "room": world.rooms[world.room], "time": world.times[world.time],
                "murder_motive": world.motives[world.motive_of[world.murderer]]}
    present = {c.kind for c in clues}
    for kind in SOLUTION_KINDS:
        if main_kinds is not None and kind not in main_kinds:
            continue
        if kind in present and not any(c.kind == kind for c in kept_clues):
            text, answer_kind = MAIN_QUESTIONS[kind]
            main.append((text, answer_kind, solution[kind]))
    stated = {(c.args[0], c.args[2]) for c in kept_clues if c.kind == "location"}
    stated_motives = {c.args[0] for c in kept_clues if c.kind == "motive"}
    refs = [("suspect", s) for s in range(len(world.suspects))]
    refs += [("weapon", w) for w in range(len(world.weapons))] + [("boddy",)]
    if len(world.motives) >= 2:
        refs += [("motive", k) for k in range(len(world.motives)) if world.motive_count(k) == 1]
    eligible = [("where", ref, t) for t in range(len(world.times)) for ref in refs
                if (ref, t) not in stated]
    if len(world.motives) >= 2:
        eligible += [("motive", s) for s in range(len(world.suspects)) if s not in stated_motives]
    bonus = []
    for fact in rng.sample(eligible, max(0, min(len(eligible), max_questions - len(main)))):
        if fact[0] == "where":
            bonus.append((_where_question(world, fact[1], fact[2]), "ROOM",
                          _where_answer(world, fact[1], fact[2])))
        else:
            s = fact[1]
            bonus.append((f"What was {world.suspects[s]}'s motive?", "MOTIVE",
                          world.motives[world.motive_of[s]]))
    return main, bonus


@dataclass
class Built:
    """A generated puzzle with its internals (for tests and tools)."""
    world: World
    players: int | None
    candidates: list[Clue]
    kept: list[Clue]          # in presentation order
    main: list[tuple]         # (question, answer kind, answer)
    bonus: list[tuple]
    selection: Selection


class GenerationError(RuntimeError):
    pass


def puzzle_seed(seed: int, index: int, attempt: int = 0) -> int:
    """The seed everything of attempt `attempt` of puzzle `index` of run `seed` is drawn from."""
    if attempt == 0:
        return derive_seed(seed, "puzzle", index)
    return derive_seed(seed, "puzzle", index, "attempt", attempt)


def build(seed: int, index: int, players: tuple[int, int] = (1, 6), shape: Shape | None = None,
          work_limit: float = WORK_LIMIT, max_questions: int = MAX_QUESTIONS,
          main_kinds: tuple[str, ...] | None = None, attempt: int = 0) -> Built:
    rng = random.Random(puzzle_seed(seed, index, attempt))
    if shape is None:
        n_players, shape = draw_shape(rng, *players)
    else:
        n_players = None
    world = simulate(rng, shape)
    clues = candidate_clues(world, rng)
    keys = [KIND_BIAS[c.family] + rng.random() for c in clues]
    order = sorted(range(len(clues)), key=lambda j: (keys[j], j))
    formulas = [meaning(clues[j], world) for j in order]
    selection = select_clues(world, formulas, work_limit)
    final = WorldModel(world, [formulas[j] for j in selection.kept], work_limit)
    slots = list(range(len(selection.kept)))
    if not final.ground_truth_fits(slots) or final.check(slots).unique is False:
        raise GenerationError(f"puzzle {index} of seed {seed}: internal check failed "
                              "(ground truth does not fit, or clues not unique)")
    kept = sorted(order[j] for j in selection.kept)
    presented = [clues[j] for j in rng.sample(kept, len(kept))]
    main, bonus = questions(world, clues, set(kept), rng, max_questions, main_kinds)
    return Built(world, n_players, clues, presented, main, bonus, selection)


def generate(seed: int, index: int, players: tuple[int, int] = (1, 6), shape: Shape | None = None,
             id_prefix: str = "puzzle", work_limit: float = WORK_LIMIT,
             max_questions: int = MAX_QUESTIONS, main_kinds: tuple[str, ...] | None = None,
             attempt: int = 0) -> dict:
    """Puzzle `index` of the run with `seed`, as a JSONL record (interface 1). `max_questions`
    caps main + bonus questions (main questions are always asked; bonus ones fill up to it);
    `main_kinds` limits the main questions to those kinds (None: every kind, the original).
    `attempt` > 0 draws a replacement for the puzzle (see module doc); the record then says
    which (`attempt`), and a first attempt's record has no such key."""
    b = build(seed, index, players, shape, work_limit, max_questions, main_kinds, attempt)
    if not b.main and not b.bonus:
        raise GenerationError(f"puzzle {index} of seed {seed} has no question to ask: no main question of "
                              f"the kinds {'asked' if main_kinds is None else list(main_kinds)} and every bonus fact is stated by a clue")
    world = b.world
    letters = [chr(ord("A") + i) for i in range(len(b.main) + len(b.bonus))]
    kinds = {k: 0 for k in KINDS}
    for c in b.kept:
        kinds[c.family] += 1
    record = {
        "id": f"{id_prefix}-{index:05d}",
        "index": index,
        "seed": seed,
        "prompt": render(world, b.kept, [q[:2] for q in b.main], [q[:2] for q in b.bonus]),
        "solution": {letter: q[2] for letter, q in zip(letters, b.main + b.bonus)},
        "num_clues": len(b.kept),
        "shape": {"players": b.players, "suspects": len(world.suspects),
                  "weapons": len(world.weapons), "rooms": len(world.rooms),
                  "times": len(world.times), "motives": len(world.motives)},
        "questions": {"main": letters[:len(b.main)], "bonus": letters[len(b.main):]},
        "clue_kinds": {k: v for k, v in kinds.items() if v},
        "selection": {"candidates": len(b.candidates), "checks": b.selection.checks,
                      "rebuilds": b.selection.rebuilds, "undecided": b.selection.undecided},
        "generator": f"deductive {deductive.__version__}",
    }
    if attempt:
        record["attempt"] = attempt
    return record
