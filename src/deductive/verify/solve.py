"""A CP-SAT model of every world a parsed puzzle allows, written from the stated rules only.

World (the primary variables): each suspect's, weapon's and Mr. Boddy's room at each time,
each suspect's motive, the murderer, the murder weapon, the murder (room, time).
Rules (method.md "Puzzle semantics"):
- characters (suspects, Mr. Boddy) stay or step to an adjacent room between listed times;
- a weapon moves only from a room to an adjacent room at a time when some suspect makes that
  same move, otherwise it stays;
- at the murder (room, time) the murderer and the murder weapon are there, no other suspect
  is, and Mr. Boddy is there from the murder time on;
- motives: one per suspect; "unique": each listed motive belongs to exactly one suspect,
  "counts": each motive's listed count is exact;
- "the suspect motivated by M", "the murderer", "the murder weapon" pick a piece; a clue about
  one holds when it holds for at least one piece they can pick (the same piece throughout
  the clue); "A or B" is exclusive; "A if and only if B" is equality.
"""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from deductive.verify.constraints import (BODDY, At, Beside, HasMotive, Iff, MurderFact, Moved,
                                          MovedWeapon, ParsedPuzzle, ParseError, Question, Ref,
                                          SameRoom, Together, Xor)

@dataclass(frozen=True)
class Readings:
    """The rule readings; the defaults are the puzzle semantics. The alternatives exist to show
    that the semantics matter (under them some published puzzles have several solutions)."""
    exclusive_or: bool = True  # False: "A or B" read inclusively
    body_stays: bool = True  # False: Mr. Boddy need only be in the murder room at the murder
    weapons_carried: bool = True  # False: weapons may step to an adjacent room on their own


STEPS = {"north": (-1, 0), "south": (1, 0), "east": (0, 1), "west": (0, -1)}


@dataclass
class Outcome:
    status: str  # "unique" | "ambiguous" | "contradiction" | "timeout"
    answers: dict[str, str] | None = None  # letter -> answer in the (first) world found
    other: dict[str, str] | None = None  # for "ambiguous": letter -> answer in a second world
    detail: str = ""  # for "ambiguous" without a differing answer: one differing fact


class WorldModel:
    def __init__(self, puzzle: ParsedPuzzle, readings: Readings = Readings()):
        self.readings = readings
        self.p = p = puzzle
        self.m = m = cp_model.CpModel()
        self._and: dict[tuple, object] = {}
        self._or: dict[tuple, object] = {}
        self.true = m.new_constant(1)
        self.false = m.new_constant(0)
        self.tix = {t: i for i, t in enumerate(p.times)}
        S, W, R, T = p.suspects, p.weapons, p.rooms, p.times
        self.pieces = S + W + [BODDY]
        self.pos = {x: [{r: m.new_bool_var(f"{x}@{r}@{t}") for r in R} for t in T]
                    for x in self.pieces}
        for x in self.pieces:
            for ti in range(len(T)):
                m.add_exactly_one(self.pos[x][ti].values())
        cell_room = {c: r for r, c in p.cells.items()}
        self.neighbours = {r: [cell_room[(row + dr, col + dc)] for dr, dc in STEPS.values()
                               if (row + dr, col + dc) in cell_room]
                           for r, (row, col) in p.cells.items()}
        self._movement()
        self._motives()
        self._murder()

    # -- literal helpers (cached, fully reified) -------------------------------------------
    def land(self, lits):
        lits = [l for l in lits if l is not self.true]
        if any(l is self.false for l in lits):
            return self.false
        if not lits:
            return self.true
        if len(lits) == 1:
            return lits[0]
        key = tuple(sorted(l.index for l in lits))
        if key not in self._and:
            v = self.m.new_bool_var("")
            self.m.add_bool_and(lits).only_enforce_if(v)
            self.m.add_bool_or([~l for l in lits]).only_enforce_if(~v)
            self._and[key] = v
        return self._and[key]

    def lor(self, lits):
        lits = [l for l in lits if l is not self.false]
        if any(l is self.true for l in lits):
            return self.true
        if not lits:
            return self.false
        if len(lits) == 1:
            return lits[0]
        key = tuple(sorted(l.index for l in lits))
        if key not in self._or:
            v = self.m.new_bool_var("")
            self.m.add_bool_or(lits).only_enforce_if(v)
            self.m.add_bool_and([~l for l in lits]).only_enforce_if(~v)
            self._or[key] = v
        return self._or[key]

    # -- rules -------------------------------------------------------------------------------
    def _movement(self):
        p, m, pos = self.p, self.m, self.pos
        for ti in range(1, len(p.times)):
            for x in p.suspects + [BODDY]:
                for r in p.rooms:
                    m.add_bool_or([pos[x][ti - 1][a] for a in [r] + self.neighbours[r]]
                                  ).only_enforce_if(pos[x][ti][r])
            for w in p.weapons:
                for r in p.rooms:
                    m.add_bool_or([pos[w][ti - 1][a] for a in [r] + self.neighbours[r]]
                                  ).only_enforce_if(pos[w][ti][r])
                    if not self.readings.weapons_carried:
                        continue
                    for a in self.neighbours[r]:
                        carried = [self.land([pos[s][ti - 1][a], pos[s][ti][r]])
                                   for s in p.suspects]
                        m.add_bool_or(carried).only_enforce_if(pos[w][ti - 1][a], pos[w][ti][r])

    def _motives(self):
        p, m = self.p, self.m
        self.has = {}
        if p.motive_mode == "none":
            return
        self.has = {s: {mo: m.new_bool_var(f"{s}:{mo}") for mo in p.motives} for s in p.suspects}
        for s in p.suspects:
            m.add_exactly_one(self.has[s].values())
        for mo in p.motives:
            n = 1 if p.motive_mode == "unique" else p.motive_counts[mo]
            m.add(sum(self.has[s][mo] for s in p.suspects) == n)

    def _murder(self):
        p, m, pos = self.p, self.m, self.pos
        self.murderer = {s: m.new_bool_var(f"murderer {s}") for s in p.suspects}
        self.weapon = {w: m.new_bool_var(f"weapon {w}") for w in p.weapons}
        self.event = {(r, t): m.new_bool_var(f"murder {r} {t}") for r in p.rooms for t in p.times}
        for group in (self.murderer, self.weapon, self.event):
            m.add_exactly_one(group.values())
        self.room = {r: self.lor([self.event[r, t] for t in p.times]) for r in p.rooms}
        self.time = {t: self.lor([self.event[r, t] for r in p.rooms]) for t in p.times}
        for (r, t), e in self.event.items():
            ti = self.tix[t]
            m.add(sum(pos[s][ti][r] for s in p.suspects) == 1).only_enforce_if(e)
            for s in p.suspects:
                m.add_implication(self.land([e, self.murderer[s]]), pos[s][ti][r])
            for w in p.weapons:
                m.add_implication(self.land([e, self.weapon[w]]), pos[w][ti][r])
            last = len(p.times) if self.readings.body_stays else ti + 1
            for later in range(ti, last):
                m.add_implication(e, pos[BODDY][later][r])

    # -- entities, clues, questions ---------------------------------------------------------
    def _motive_vars(self, motive: str) -> dict:
        if not self.has or motive not in self.p.motives:
            raise ParseError(f"motive {motive!r} is not listed in the prompt")
        return {s: self.has[s][motive] for s in self.p.suspects}

    def candidates(self, ref: Ref) -> list[tuple[object, str]]:
        """(selector literal, piece) pairs: the pieces `ref` may stand for, and when."""
        if ref.kind in ("suspect", "weapon"):
            return [(self.true, ref.name)]
        if ref.kind == "boddy":
            return [(self.true, BODDY)]
        if ref.kind == "murderer":
            return list((v, s) for s, v in self.murderer.items())
        if ref.kind == "murder_weapon":
            return list((v, w) for w, v in self.weapon.items())
        if ref.kind == "motive":
            return list((v, s) for s, v in self._motive_vars(ref.name).items())
        raise ValueError(ref)

    def _over(self, refs, build):
        """OR over every choice of pieces for `refs` of (selectors AND build(pieces))."""
        choices = [[]]
        for ref in refs:
            choices = [c + [cand] for c in choices for cand in self.candidates(ref)]
        return self.lor([self.land([sel for sel, _ in c] + [build(*[x for _, x in c])])
                         for c in choices])

    def _same(self, x, y, ti):
        if x == y:
            return self.true
        return self.lor([self.land([self.pos[x][ti][r], self.pos[y][ti][r]]) for r in self.p.rooms])

    def literal(self, node):
        p, pos, tix = self.p, self.pos, self.tix
        if isinstance(node, At):
            return self._over([node.who], lambda x: pos[x][tix[node.time]][node.room])
        if isinstance(node, HasMotive):
            mv = self._motive_vars(node.motive)
            return self._over([node.who], lambda x: mv.get(x, self.false))
        if isinstance(node, MurderFact):
            if node.field == "murderer":
                return self.murderer[node.value]
            if node.field == "weapon":
                return self.weapon[node.value]
            if node.field == "room":
                return self.room[node.value]
            if node.field == "time":
                return self.time[node.value]
            mv = self._motive_vars(node.value)
            return self.lor([self.land([self.murderer[s], mv[s]]) for s in p.suspects])
        if isinstance(node, SameRoom):
            ti = tix[node.time]
            return self._over([node.a, node.b], lambda x, y: self._same(x, y, ti))
        if isinstance(node, Together):
            r = node.room
            return self._over([node.a, node.b], lambda x, y: self.lor(
                [self.land([pos[x][ti][r], pos[y][ti][r]]) for ti in range(len(p.times))]))
        if isinstance(node, Moved):
            ti = tix[node.time]
            return self._over([node.who], lambda x: self.land(
                [pos[x][ti - 1][node.src], pos[x][ti][node.dst]]))
        if isinstance(node, MovedWeapon):
            ti = tix[node.time]
            return self._over([node.who, node.weapon], lambda x, w: self.land(
                [pos[x][ti - 1][node.src], pos[x][ti][node.dst],
                 pos[w][ti - 1][node.src], pos[w][ti][node.dst]]))
        if isinstance(node, Beside):
            ti = tix[node.time]
            dr, dc = STEPS[node.direction]
            pairs = []
            for r1, (row1, col1) in p.cells.items():
                for r2, (row2, col2) in p.cells.items():
                    if node.distance == "just":
                        ok = (row1, col1) == (row2 + dr, col2 + dc)
                    else:
                        ok = ((row1 - row2) * dr > 0 and col1 == col2) if dr else \
                             ((col1 - col2) * dc > 0 and row1 == row2)
                    if ok:
                        pairs.append((r1, r2))
            return self._over([node.a, node.b], lambda x, y: self.lor(
                [self.land([pos[x][ti][r1], pos[y][ti][r2]]) for r1, r2 in pairs]))
        raise TypeError(f"not an atom: {node!r}")

    def add_clue(self, node):
        if isinstance(node, Xor):
            total = self.literal(node.left) + self.literal(node.right)
            self.m.add(total == 1 if self.readings.exclusive_or else total >= 1)
        elif isinstance(node, Iff):
            self.m.add(self.literal(node.left) == self.literal(node.right))
        else:
            self.m.add_bool_or([self.literal(node)])

    def options(self, q: Question) -> list[tuple[str, object]]:
        """(answer, literal) for every possible answer to `q`; exactly one literal is true."""
        p = self.p
        if q.kind == "murderer":
            return list(self.murderer.items())
        if q.kind == "weapon":
            return list(self.weapon.items())
        if q.kind == "room":
            return list(self.room.items())
        if q.kind == "time":
            return list(self.time.items())
        if q.kind == "motive":
            if not self.has:
                raise ParseError("a motive question, but no motives are listed", q.text, q.line_no)
            return [(mo, self.lor([self.land([self.murderer[s], self.has[s][mo]])
                                   for s in p.suspects])) for mo in p.motives]
        if q.kind in ("who_motive",) or (q.kind == "where" and q.subject.kind == "motive"):
            mo = q.motive if q.kind == "who_motive" else q.subject.name
            self._motive_vars(mo)
            n = 1 if p.motive_mode == "unique" else p.motive_counts[mo]
            if n != 1:
                raise ParseError(f"the question needs one suspect motivated by {mo}, but the "
                                 f"prompt says {n}", q.text, q.line_no)
            if q.kind == "who_motive":
                return [(s, self.has[s][mo]) for s in p.suspects]
        if q.kind == "where":
            ti = self.tix[q.time]
            return [(r, self._over([q.subject], lambda x, r=r: self.pos[x][ti][r]))
                    for r in p.rooms]
        if q.kind == "motive_of":
            if not self.has:
                raise ParseError("a motive question, but no motives are listed", q.text, q.line_no)
            return list(self.has[q.subject.name].items())
        raise ValueError(q.kind)

    def categories(self) -> list[tuple[str, dict[str, object]]]:
        """The whole world state: (label, {value: variable}) with exactly one true per label."""
        out = [(f"where {x} was at {t}", rooms) for x in self.pieces
               for t, rooms in zip(self.p.times, self.pos[x])]
        out += [(f"{s}'s motive", d) for s, d in self.has.items()]
        out += [("the murderer", self.murderer), ("the murder weapon", self.weapon),
                ("the murder room and time", {f"{r} at {t}": v for (r, t), v in self.event.items()})]
        return out


def solve(puzzle: ParsedPuzzle, *, time_limit: float = 120.0, workers: int = 1,
          readings: Readings = Readings()) -> Outcome:
    """Find a world; then ask for a second world (differing anywhere) and, if there is one,
    for a second answer to some question."""
    world = WorldModel(puzzle, readings)
    for clue in puzzle.clues:
        try:
            world.add_clue(clue.node)
        except ParseError as exc:
            raise ParseError(exc.reason, clue.text, clue.line_no) from None
    options = {q.letter: world.options(q) for q in puzzle.questions}
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = workers
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.random_seed = 0

    def run(assume=None) -> int:
        world.m.clear_assumptions()
        if assume is not None:
            world.m.add_assumptions([assume])
        return solver.solve(world.m)

    def read_answers() -> dict[str, str]:
        return {letter: next(a for a, lit in opts if solver.boolean_value(lit))
                for letter, opts in options.items()}

    status = run()
    if status == cp_model.INFEASIBLE:
        return Outcome("contradiction")
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Outcome("timeout")
    answers = read_answers()
    categories = world.categories()
    first = {label: next(v for v, lit in d.items() if solver.boolean_value(lit))
             for label, d in categories}
    differ = world.m.new_bool_var("another world")
    world.m.add_bool_or([~d[first[label]] for label, d in categories]).only_enforce_if(differ)
    status = run(differ)
    if status == cp_model.INFEASIBLE:
        return Outcome("unique", answers)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Outcome("timeout", answers)
    second = read_answers()
    changed = [(label, first[label], next(v for v, lit in d.items() if solver.boolean_value(lit)))
               for label, d in categories]
    changed = [c for c in changed if c[1] != c[2]]
    if second != answers:
        return Outcome("ambiguous", answers, second)
    # The second world answers alike; is some question still open in a third one?
    for letter, opts in options.items():
        lit = dict(opts)[answers[letter]]
        other = world.m.new_bool_var(f"another answer to {letter}")
        world.m.add_bool_or([~lit]).only_enforce_if(other)
        status = run(other)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return Outcome("ambiguous", answers, read_answers())
    label, one, two = changed[0]
    return Outcome("ambiguous", answers, None,
                   detail=f"every answer is forced but the world is not: {label} can be "
                          f"{one!r} or {two!r}")
