"""Clues: what they say (a formula over the world model's variables) and how they read.

Model variables (keys of formula literals):
  ("pos", entity, time, room)  entity is in room at time; entities are the suspects 0..S-1, the
                               weapons S..S+W-1 and Mr. Boddy S+W
  ("mot", suspect, motive)     suspect has motive (index into World.motives)
  ("killer", suspect), ("mweapon", weapon), ("murder", time, room)
A reference names an entity directly or by description:
  ("suspect", i), ("weapon", i), ("boddy",), ("murderer",), ("murder_weapon",), ("motive", m)
"The suspect motivated by M" is existential (rule 7 of the prompt).
"""

from __future__ import annotations

from dataclasses import dataclass

from deductive.puzzles import formula as F
from deductive.puzzles.world import World

SOLUTION_KINDS = ("murderer", "weapon", "room", "time", "murder_motive")
# The kinds reported in a puzzle's `clue_kinds` (a location clue about "the suspect motivated
# by M" counts as motive_location).
KINDS = SOLUTION_KINDS + ("location", "motive_location", "motive", "or", "iff", "same_room",
                          "together", "move", "weapon_move", "spatial")


@dataclass(frozen=True)
class Clue:
    kind: str
    args: tuple

    @property
    def family(self) -> str:
        if self.kind == "location" and self.args[0][0] == "motive":
            return "motive_location"
        return self.kind


# ----- meaning -------------------------------------------------------------------------------

def _entities(world: World, ref: tuple) -> list[tuple[tuple, int]]:
    """(guard formula, entity) pairs: the reference denotes `entity` when its guard holds."""
    n_s, n_w = len(world.suspects), len(world.weapons)
    kind = ref[0]
    if kind == "suspect":
        return [(F.TRUE, ref[1])]
    if kind == "weapon":
        return [(F.TRUE, n_s + ref[1])]
    if kind == "boddy":
        return [(F.TRUE, n_s + n_w)]
    if kind == "murderer":
        return [(F.lit("killer", s), s) for s in range(n_s)]
    if kind == "murder_weapon":
        return [(F.lit("mweapon", w), n_s + w) for w in range(n_w)]
    if kind == "motive":
        return [(F.lit("mot", s, ref[1]), s) for s in range(n_s)]
    raise ValueError(f"unknown reference {ref!r}")


def _pos(entity: int, time: int, room: int) -> tuple:
    return F.lit("pos", entity, time, room)


def _at(world: World, ref: tuple, time: int, room: int) -> tuple:
    """The reference (or, existentially, someone it may denote) is in `room` at `time`."""
    return F.disj(*(F.conj(g, _pos(e, time, room)) for g, e in _entities(world, ref)))


def _step(world: World, ref: tuple, r1: int, r2: int, time: int) -> tuple:
    """Someone the reference denotes was in r1 just before `time` and in r2 at `time`."""
    return F.disj(*(F.conj(g, _pos(e, time - 1, r1), _pos(e, time, r2))
                    for g, e in _entities(world, ref)))


def meaning(clue: Clue, world: World) -> tuple:
    """The clue as a formula over model variables (uses only what the prompt shows)."""
    kind, a = clue.kind, clue.args
    n_rooms, n_times = len(world.rooms), len(world.times)
    if kind == "murderer":
        return F.lit("killer", a[0])
    if kind == "weapon":
        return F.lit("mweapon", a[0])
    if kind == "room":
        return F.disj(*(F.lit("murder", t, a[0]) for t in range(n_times)))
    if kind == "time":
        return F.disj(*(F.lit("murder", a[0], r) for r in range(n_rooms)))
    if kind == "murder_motive":
        return F.disj(*(F.conj(F.lit("killer", s), F.lit("mot", s, a[0]))
                        for s in range(len(world.suspects))))
    if kind == "motive":
        return F.lit("mot", a[0], a[1])
    if kind == "location":
        ref, room, time = a
        return _at(world, ref, time, room)
    if kind == "or":
        return F.exactly_one(meaning(a[0], world), meaning(a[1], world))
    if kind == "iff":
        return F.equivalent(meaning(a[0], world), meaning(a[1], world))
    if kind == "same_room":
        x, y, time = a
        return F.disj(*(F.conj(_at(world, x, time, r), _at(world, y, time, r))
                        for r in range(n_rooms)))
    if kind == "together":
        x, y, room = a
        return F.disj(*(F.conj(_at(world, x, t, room), _at(world, y, t, room))
                        for t in range(n_times)))
    if kind == "move":
        ref, r1, r2, time = a
        return _step(world, ref, r1, r2, time)
    if kind == "weapon_move":
        # "some suspect so described made the step" and "some weapon so described made it":
        # the two parts share no variable, so the existential splits.
        sref, wref, r1, r2, time = a
        return F.conj(_step(world, sref, r1, r2, time), _step(world, wref, r1, r2, time))
    if kind == "spatial":
        x, direction, y, time = a
        pairs = [(world.board.toward(ry, direction), ry) for ry in range(n_rooms)]
        return F.disj(*(F.conj(_at(world, x, time, rx), _at(world, y, time, ry))
                        for rx, ry in pairs if rx is not None))
    raise ValueError(f"unknown clue kind {kind!r}")


def truth_in(world: World):
    """The ground truth's value of every model variable, as a function of its key."""
    n_s, n_w = len(world.suspects), len(world.weapons)
    paths = list(world.suspect_at) + list(world.weapon_at) + [world.boddy_at]
    assert len(paths) == n_s + n_w + 1

    def value(key: tuple) -> bool:
        kind = key[0]
        if kind == "pos":
            return paths[key[1]][key[2]] == key[3]
        if kind == "mot":
            return world.motive_of[key[1]] == key[2]
        if kind == "killer":
            return world.murderer == key[1]
        if kind == "mweapon":
            return world.weapon == key[1]
        if kind == "murder":
            return (world.time, world.room) == (key[1], key[2])
        raise KeyError(key)

    return value


# ----- wording (docs/puzzle-format.md) -------------------------------------------------------

def name(ref: tuple, world: World) -> str:
    kind = ref[0]
    if kind == "suspect":
        return world.suspects[ref[1]]
    if kind == "weapon":
        return f"the {world.weapons[ref[1]]}"
    if kind == "boddy":
        return "Mr. Boddy"
    if kind == "murderer":
        return "the murderer"
    if kind == "murder_weapon":
        return "the murder weapon"
    if kind == "motive":
        return f"the suspect motivated by {world.motives[ref[1]]}"
    raise ValueError(f"unknown reference {ref!r}")


def _clause(clue: Clue, world: World) -> str:
    """The sentence without its final period, starting lower-case `the` where it has one."""
    kind, a = clue.kind, clue.args
    room = lambda r: f"the {world.rooms[r]}"  # noqa: E731
    when = lambda t: world.times[t]  # noqa: E731
    if kind == "murderer":
        return f"the murderer was {world.suspects[a[0]]}"
    if kind == "weapon":
        return f"the murder weapon was the {world.weapons[a[0]]}"
    if kind == "room":
        return f"the murder took place in {room(a[0])}"
    if kind == "time":
        return f"the murder took place at {when(a[0])}"
    if kind == "murder_motive":
        return f"the murderer's motive was {world.motives[a[0]]}"
    if kind == "location":
        return f"{name(a[0], world)} was in {room(a[1])} at {when(a[2])}"
    if kind == "motive":
        return f"{world.suspects[a[0]]} was motivated by {world.motives[a[1]]}"
    if kind == "or":
        return f"either {_clause(a[0], world)} or {_clause(a[1], world)}"
    if kind == "iff":
        return f"{_clause(a[0], world)} if and only if {_clause(a[1], world)}"
    if kind == "same_room":
        return f"{name(a[0], world)} was in the same room as {name(a[1], world)} at {when(a[2])}"
    if kind == "together":
        return f"{name(a[0], world)} and {name(a[1], world)} were together in {room(a[2])} at least once"
    if kind == "move":
        return f"{name(a[0], world)} moved from {room(a[1])} to {room(a[2])} at {when(a[3])}"
    if kind == "weapon_move":
        return (f"{name(a[0], world)} moved {name(a[1], world)} from {room(a[2])} "
                f"to {room(a[3])} at {when(a[4])}")
    if kind == "spatial":
        return (f"{name(a[0], world)} was in the room directly {a[1]} of {name(a[2], world)} "
                f"at {when(a[3])}")
    raise ValueError(f"unknown clue kind {kind!r}")


def sentence(clue: Clue, world: World) -> str:
    text = _clause(clue, world)
    return text[0].upper() + text[1:] + "."

