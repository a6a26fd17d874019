"""Candidate clues: statements that are true of the ground truth, of every kind.

The full list always pins the whole world down (it states every position at every time, every
motive and the murder), so the greedy selection in generator.py starts from a unique puzzle.
Counts of the sampled kinds scale with the number of facts, (S + W + 1) * T.
"""

from __future__ import annotations

import random

from deductive.puzzles import formula as F
from deductive.puzzles.clues import Clue, meaning, truth_in
from deductive.puzzles.world import DIRECTIONS, World


# Candidates of each sampled kind, as a share of the number of position facts (S + W + 1) * T.
# Kept small: the check cost grows with the model, which holds every candidate.
SHARE = {"described": 0.15, "or": 0.2, "iff": 0.2, "same_room": 0.2, "together": 0.12,
         "spatial": 0.2, "move": 0.25}


def _facts(world: World) -> int:
    return (len(world.suspects) + len(world.weapons) + 1) * len(world.times)


def _refs(world: World) -> tuple[list[tuple], list[tuple]]:
    """References to suspects (by name or description) and to weapons."""
    people = [("suspect", s) for s in range(len(world.suspects))]
    people.append(("murderer",))
    if len(world.motives) >= 2:
        people += [("motive", k) for k in range(len(world.motives))]
    things = [("weapon", w) for w in range(len(world.weapons))] + [("murder_weapon",)]
    return people, things


def _where(world: World, ref: tuple, time: int) -> set[int]:
    """Rooms where the reference may truly be at `time` (several for a shared motive)."""
    kind = ref[0]
    if kind == "suspect":
        return {world.suspect_at[ref[1]][time]}
    if kind == "weapon":
        return {world.weapon_at[ref[1]][time]}
    if kind == "boddy":
        return {world.boddy_at[time]}
    if kind == "murderer":
        return {world.suspect_at[world.murderer][time]}
    if kind == "murder_weapon":
        return {world.weapon_at[world.weapon][time]}
    return {world.suspect_at[s][time] for s, k in enumerate(world.motive_of) if k == ref[1]}


def _denotes(world: World, ref: tuple) -> set[tuple]:
    kind = ref[0]
    if kind == "murderer":
        return {("suspect", world.murderer)}
    if kind == "murder_weapon":
        return {("weapon", world.weapon)}
    if kind == "motive":
        return {("suspect", s) for s, k in enumerate(world.motive_of) if k == ref[1]}
    return {ref}


def candidate_clues(world: World, rng: random.Random) -> list[Clue]:
    n_s, n_r, n_t = len(world.suspects), len(world.rooms), len(world.times)
    n_m = len(world.motives)
    people, things = _refs(world)
    anyone = people + things + [("boddy",)]
    truth = truth_in(world)
    facts = _facts(world)
    budget = {kind: max(2, round(share * facts)) for kind, share in SHARE.items()}
    out: list[Clue] = []
    seen: set[Clue] = set()

    def add(clue: Clue) -> bool:
        if clue in seen:
            return False
        if not F.evaluate(meaning(clue, world), truth):
            raise AssertionError(f"generated a false clue: {clue}")
        seen.add(clue)
        out.append(clue)
        return True

    def sample(make, count: int, tries: int = 20) -> None:
        """Call `make()` until `count` new clues are added (it returns a clue or None)."""
        added = 0
        for _ in range(count * tries):
            if added >= count:
                return
            clue = make()
            if clue is not None and clue not in seen:
                added += add(clue)

    # The solution facts.
    add(Clue("murderer", (world.murderer,)))
    add(Clue("weapon", (world.weapon,)))
    add(Clue("room", (world.room,)))
    if n_t >= 2:
        add(Clue("time", (world.time,)))
    if n_m >= 2:
        add(Clue("murder_motive", (world.motive_of[world.murderer],)))
    # Every position and every motive: together with the above, a complete account.
    for s in range(n_s):
        for t in range(n_t):
            add(Clue("location", (("suspect", s), world.suspect_at[s][t], t)))
    for w in range(len(world.weapons)):
        for t in range(n_t):
            add(Clue("location", (("weapon", w), world.weapon_at[w][t], t)))
    for t in range(n_t):
        add(Clue("location", (("boddy",), world.boddy_at[t], t)))
    if n_m >= 2:
        for s in range(n_s):
            add(Clue("motive", (s, world.motive_of[s])))

    def true_location(refs) -> Clue:
        ref, t = rng.choice(refs), rng.randrange(n_t)
        return Clue("location", (ref, rng.choice(sorted(_where(world, ref, t))), t))

    def false_location() -> Clue | None:
        ref, t, r = rng.choice(anyone), rng.randrange(n_t), rng.randrange(n_r)
        return None if r in _where(world, ref, t) else Clue("location", (ref, r, t))

    def true_clause() -> Clue:
        if n_m >= 2 and rng.random() < 0.15:
            s = rng.randrange(n_s)
            return Clue("motive", (s, world.motive_of[s]))
        return true_location(anyone)

    def false_clause() -> Clue | None:
        if n_m >= 2 and rng.random() < 0.15:
            s, k = rng.randrange(n_s), rng.randrange(n_m)
            return None if world.motive_of[s] == k else Clue("motive", (s, k))
        return false_location()

    described = [r for r in people + things if r[0] in ("murderer", "murder_weapon", "motive")]
    sample(lambda: true_location(described), budget["described"])

    def either() -> Clue | None:
        a, b = true_clause(), false_clause()
        if b is None:
            return None
        return Clue("or", (a, b) if rng.random() < 0.5 else (b, a))

    def iff() -> Clue | None:
        if rng.random() < 0.5:
            a, b = true_clause(), true_clause()
        else:
            a, b = false_clause(), false_clause()
        if a is None or b is None or a == b:
            return None
        return Clue("iff", (a, b))

    sample(either, budget["or"])
    sample(iff, budget["iff"])

    def two_refs():
        x, y = rng.choice(anyone), rng.choice(anyone)
        if _denotes(world, x) & _denotes(world, y) or x == y:
            return None
        return x, y

    def same_room() -> Clue | None:
        pair, t = two_refs(), rng.randrange(n_t)
        if pair is None or not _where(world, pair[0], t) & _where(world, pair[1], t):
            return None
        return Clue("same_room", (pair[0], pair[1], t))

    def together() -> Clue | None:
        pair = two_refs()
        if pair is None:
            return None
        rooms = sorted({r for t in range(n_t)
                        for r in _where(world, pair[0], t) & _where(world, pair[1], t)})
        return Clue("together", (pair[0], pair[1], rng.choice(rooms))) if rooms else None

    def spatial() -> Clue | None:
        pair, t, d = two_refs(), rng.randrange(n_t), rng.choice(DIRECTIONS)
        if pair is None:
            return None
        for ry in sorted(_where(world, pair[1], t)):
            if world.board.toward(ry, d) in _where(world, pair[0], t):
                return Clue("spatial", (pair[0], d, pair[1], t))
        return None

    sample(same_room, budget["same_room"])
    sample(together, budget["together"])
    sample(spatial, budget["spatial"])

    # Moves a suspect made (by name or description), and weapons carried along.
    moves = [(s, t) for t in range(1, n_t) for s in range(n_s)
             if world.suspect_at[s][t - 1] != world.suspect_at[s][t]]
    for s, t in rng.sample(moves, min(len(moves), budget["move"])):
        a, b = world.suspect_at[s][t - 1], world.suspect_at[s][t]
        names = [("suspect", s)] + [r for r in described if ("suspect", s) in _denotes(world, r)]
        add(Clue("move", (rng.choice(names), a, b, t)))
        for w in range(len(world.weapons)):
            if (world.weapon_at[w][t - 1], world.weapon_at[w][t]) == (a, b):
                wnames = [("weapon", w)] + ([("murder_weapon",)] if w == world.weapon else [])
                add(Clue("weapon_move", (rng.choice(names), rng.choice(wnames), a, b, t)))
    return out
