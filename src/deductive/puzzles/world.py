"""One puzzle's ground truth: sizes, board, times, motives and the simulated night.

Everything here is drawn from one `random.Random`, in a fixed order, so a world depends only on
its seed (method.md section 6 gives the distributions).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from deductive.puzzles import pools

DIRECTIONS = ("north", "south", "east", "west")
_STEP = {"north": (-1, 0), "south": (1, 0), "east": (0, 1), "west": (0, -1)}


@dataclass(frozen=True)
class Shape:
    suspects: int
    weapons: int
    rooms: int
    times: int

    def check(self) -> None:
        """Raise ValueError with a user-facing message when the shape cannot be generated."""
        limits = (("suspects", self.suspects, 1, len(pools.SUSPECTS)),
                  ("weapons", self.weapons, 1, len(pools.WEAPONS)),
                  ("rooms", self.rooms, 2, len(pools.ROOMS)),
                  ("times", self.times, 1, pools.MAX_TIMES))
        for name, value, low, high in limits:
            if not low <= value <= high:
                raise ValueError(f"{name} must be between {low} and {high}, got {value}")


def caps(players: int) -> Shape:
    """The per-player caps on suspects, weapons, rooms and times."""
    return Shape(suspects=min(len(pools.SUSPECTS), math.floor(2.5 * players)),
                 weapons=min(len(pools.WEAPONS), math.floor(2.125 * players)),
                 rooms=min(len(pools.ROOMS), 3 * players),
                 times=2 * players)


def draw_shape(rng: random.Random, min_players: int, max_players: int) -> tuple[int, Shape]:
    """Players and sizes as in the original: W, then S >= W, then R >= S (all capped), then T."""
    players = rng.randint(min_players, max_players)
    cap = caps(players)
    weapons = max(2, min(players + rng.randint(-1, 5), cap.weapons))
    suspects = min(weapons + rng.randint(0, weapons - 1), cap.suspects)
    rooms = min(suspects + rng.randint(0, max(0, suspects - 2)), cap.rooms)
    times = rng.randint(1, cap.times)
    return players, Shape(suspects, weapons, rooms, times)


def board_columns(rng: random.Random, rooms: int) -> int:
    if rooms <= 1:
        return 1
    if rooms == 2:
        return rng.choice((1, 2))
    if rooms <= 4:
        return 2
    if rooms <= 6:
        return rng.choice((2, 3))
    if rooms <= 9:
        return 3
    if rooms <= 12:
        return rng.choice((3, 4))
    return 4


@dataclass(frozen=True)
class Board:
    rooms: tuple[str, ...]          # room i sits at row i // columns, column i % columns
    columns: int

    @property
    def rows(self) -> int:
        return -(-len(self.rooms) // self.columns)

    def cell(self, room: int) -> tuple[int, int]:
        return divmod(room, self.columns)

    def at(self, row: int, col: int) -> int | None:
        if 0 <= row < self.rows and 0 <= col < self.columns:
            index = row * self.columns + col
            if index < len(self.rooms):
                return index
        return None

    def toward(self, room: int, direction: str) -> int | None:
        """The room one step `direction` of `room`, or None."""
        row, col = self.cell(room)
        d_row, d_col = _STEP[direction]
        return self.at(row + d_row, col + d_col)

    def neighbours(self, room: int) -> tuple[int, ...]:
        found = (self.toward(room, d) for d in DIRECTIONS)
        return tuple(sorted(r for r in found if r is not None))


def format_time(minutes: int) -> str:
    """Minutes after midnight (may be negative) as `hh:mm AM|PM`."""
    minutes %= 24 * 60
    hour, minute = divmod(minutes, 60)
    suffix = "AM" if hour < 12 else "PM"
    return f"{(hour % 12) or 12:02d}:{minute:02d} {suffix}"


def draw_times(rng: random.Random, count: int) -> tuple[str, ...]:
    """`count` times a fixed step apart (15, 30 or 60 minutes) spanning midnight, 7 PM to 6 AM."""
    steps = [s for s in (15, 30, 60) if (count - 1) * s <= 11 * 60]
    step = rng.choice(steps)
    low = max(0, (count - 1) - (6 * 60) // step)     # steps before midnight so we end by 6 AM
    high = min(count - 1, (5 * 60) // step)          # ... and start no earlier than 7 PM
    before = rng.randint(low, high)
    return tuple(format_time((i - before) * step) for i in range(count))


@dataclass(frozen=True)
class World:
    """The ground truth. Entities: suspects 0..S-1, weapons 0..W-1 and Mr. Boddy."""
    suspects: tuple[str, ...]
    weapons: tuple[str, ...]
    board: Board
    times: tuple[str, ...]
    motives: tuple[str, ...]                 # the listed motives, in listing order
    distinct_motives: bool                   # every suspect has a different motive
    motive_of: tuple[int, ...]               # suspect -> index into motives
    suspect_at: tuple[tuple[int, ...], ...]  # [suspect][time] -> room
    weapon_at: tuple[tuple[int, ...], ...]   # [weapon][time] -> room
    boddy_at: tuple[int, ...]                # [time] -> room (stays in the murder room)
    murderer: int
    weapon: int
    room: int
    time: int

    @property
    def rooms(self) -> tuple[str, ...]:
        return self.board.rooms

    def motive_count(self, motive: int) -> int:
        return sum(1 for m in self.motive_of if m == motive)

    def suspects_in(self, room: int, time: int) -> list[int]:
        return [s for s, path in enumerate(self.suspect_at) if path[time] == room]


def _walk(rng: random.Random, board: Board, start: int, steps: int) -> list[int]:
    path = [start]
    for _ in range(steps):
        here = path[-1]
        if rng.random() < 0.5:
            here = rng.choice(board.neighbours(here))
        path.append(here)
    return path


class NoMurder(RuntimeError):
    pass


def simulate(rng: random.Random, shape: Shape, max_attempts: int = 1000) -> World:
    """Draw names, board, times and motives, then simulate nights until one has a murder."""
    suspects = tuple(rng.sample(pools.SUSPECTS, shape.suspects))
    weapons = tuple(rng.sample(pools.WEAPONS, shape.weapons))
    rooms = tuple(rng.sample(pools.ROOMS, shape.rooms))
    board = Board(rooms, board_columns(rng, shape.rooms))
    times = draw_times(rng, shape.times)
    if rng.random() < 0.5:
        motives = tuple(rng.sample(pools.MOTIVES, shape.suspects))
        motive_of = tuple(range(shape.suspects))
        distinct = True
    else:
        drawn = rng.sample(pools.MOTIVES, rng.randint(1, shape.suspects))
        assigned = [rng.randrange(len(drawn)) for _ in range(shape.suspects)]
        used = sorted(set(assigned))                      # list only motives someone has
        motives = tuple(drawn[i] for i in used)
        motive_of = tuple(used.index(i) for i in assigned)
        distinct = len(motives) == shape.suspects
    steps = shape.times - 1
    for _ in range(max_attempts):
        suspect_at = [_walk(rng, board, rng.randrange(shape.rooms), steps) for _ in suspects]
        boddy_at = _walk(rng, board, rng.randrange(shape.rooms), steps)
        weapon_at = []
        for _ in weapons:
            path = [rng.randrange(shape.rooms)]
            for t in range(1, shape.times):
                here = path[-1]
                movers = [s for s in suspect_at if s[t - 1] == here and s[t] != here]
                if movers and rng.random() < 0.8:
                    here = rng.choice(movers)[t]
                path.append(here)
            weapon_at.append(path)
        chances = []
        for t in range(shape.times):
            room = boddy_at[t]
            present = [s for s in range(shape.suspects) if suspect_at[s][t] == room]
            if len(present) != 1:
                continue
            for w in range(shape.weapons):
                if weapon_at[w][t] == room:
                    chances.append((present[0], w, room, t))
        if not chances:
            continue
        murderer, weapon, room, time = rng.choice(chances)
        boddy = tuple(boddy_at[:time] + [room] * (shape.times - time))
        return World(suspects, weapons, board, times, motives, distinct, motive_of,
                     tuple(map(tuple, suspect_at)), tuple(map(tuple, weapon_at)), boddy,
                     murderer, weapon, room, time)
    raise NoMurder(f"no night with a possible murder in {max_attempts} simulations of {shape}")
