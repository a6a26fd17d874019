"""One CP-SAT model per puzzle: the world's rules, every candidate clue behind its own switch,
and the question "is there an account of the night other than the ground truth?".

The rules (the prompt's Rules section, docs/puzzle-format.md):
  - each suspect, weapon and Mr. Boddy is in exactly one room at each time;
  - suspects and Mr. Boddy stay or move one step between consecutive times;
  - a weapon moves one step only when some suspect makes that same step at that time;
  - each suspect has exactly one motive; each listed motive's count is exact;
  - one murderer, one weapon, one (time, room) of the murder, where murderer, weapon and
    Mr. Boddy are together and no other suspect is present; Mr. Boddy stays there afterwards.
A clue is enforced only when its switch literal is assumed true, so the kept set changes
between checks without rebuilding the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from deductive.puzzles.clues import truth_in
from deductive.puzzles.world import World


@dataclass
class Check:
    unique: bool | None          # None: the solver hit its work limit without an answer
    counterexample: dict | None  # values of every variable in another account, if found
    core: list[int] | None = None  # when unique: clues (positions) that already suffice


class WorldModel:
    def __init__(self, world: World, formulas: list[tuple], work_limit: float = 60.0):
        """`formulas`: the candidate clues' meanings (clues.meaning); check() refers to them
        by position in this list."""
        self.world = world
        self.model = cp_model.CpModel()
        self.vars: dict[tuple, cp_model.IntVar] = {}
        self._compiled: dict[tuple, object] = {}
        self._build_rules()
        self.formulas = formulas
        self.switches = [self._switch(f) for f in formulas]
        self._slot_of_var = {sw.index: k for k, sw in enumerate(self.switches)}
        truth = truth_in(world)
        self.truth = {key: truth(key) for key in self.vars}
        # "Not the ground truth" (some variable true there is false here), behind a switch
        # that check() assumes and ground_truth_fits() does not.
        self.other = self.model.new_bool_var("other")
        self.model.add_bool_or([~v for key, v in self.vars.items() if self.truth[key]]
                               ).only_enforce_if(self.other)
        for key, v in self.vars.items():
            self.model.add_hint(v, self.truth[key])
        self.solver = cp_model.CpSolver()
        params = self.solver.parameters
        params.num_workers = 1
        params.random_seed = 0
        params.max_deterministic_time = work_limit
        # Each check is small; presolve, probing, symmetry detection and the LP relaxation
        # cost more than the search itself (measured), so they are off.
        params.cp_model_presolve = False
        params.cp_model_probing_level = 0
        params.symmetry_level = 0
        params.linearization_level = 0
        self.solves = 0

    # ----- building ---------------------------------------------------------------------------
    def var(self, *key) -> cp_model.IntVar:
        found = self.vars.get(key)
        if found is None:
            found = self.vars[key] = self.model.new_bool_var("")
        return found

    def _build_rules(self) -> None:
        w, m = self.world, self.model
        n_s, n_w, n_r, n_t = len(w.suspects), len(w.weapons), len(w.rooms), len(w.times)
        boddy = n_s + n_w
        neighbours = [w.board.neighbours(r) for r in range(n_r)]
        pos = {(e, t, r): self.var("pos", e, t, r)
               for e in range(boddy + 1) for t in range(n_t) for r in range(n_r)}
        for e in range(boddy + 1):
            for t in range(n_t):
                m.add_exactly_one([pos[e, t, r] for r in range(n_r)])
                if t == 0:
                    continue
                for r in range(n_r):  # stay or one step
                    m.add_bool_or([~pos[e, t, r], pos[e, t - 1, r],
                                   *(pos[e, t - 1, q] for q in neighbours[r])])
        for t in range(1, n_t):  # a weapon's step needs a suspect making the same step
            for a in range(n_r):
                for b in neighbours[a]:
                    steps = []
                    for s in range(n_s):
                        step = m.new_bool_var("")
                        m.add_bool_and([pos[s, t - 1, a], pos[s, t, b]]).only_enforce_if(step)
                        steps.append(step)
                    for weapon in range(n_s, boddy):
                        m.add_bool_or([~pos[weapon, t - 1, a], ~pos[weapon, t, b], *steps])
        n_m = len(w.motives)
        mot = {(s, k): self.var("mot", s, k) for s in range(n_s) for k in range(n_m)}
        for s in range(n_s):
            m.add_exactly_one([mot[s, k] for k in range(n_m)])
        for k in range(n_m):
            if w.motive_count(k) == 1:
                m.add_exactly_one([mot[s, k] for s in range(n_s)])
            else:
                m.add(sum(mot[s, k] for s in range(n_s)) == w.motive_count(k))
        killer = [self.var("killer", s) for s in range(n_s)]
        weapon = [self.var("mweapon", i) for i in range(n_w)]
        murder = {(t, r): self.var("murder", t, r) for t in range(n_t) for r in range(n_r)}
        m.add_exactly_one(killer)
        m.add_exactly_one(weapon)
        m.add_exactly_one(list(murder.values()))
        for (t, r), at in murder.items():
            m.add_bool_and([pos[boddy, u, r] for u in range(t, n_t)]).only_enforce_if(at)
            for s in range(n_s):  # there, a suspect is present exactly if it is the murderer
                m.add_bool_or([~at, ~killer[s], pos[s, t, r]])
                m.add_bool_or([~at, ~pos[s, t, r], killer[s]])
            for i in range(n_w):
                m.add_bool_or([~at, ~weapon[i], pos[n_s + i, t, r]])

    def _switch(self, formula: tuple):
        """A fresh literal that enforces `formula` when true."""
        switch = self.model.new_bool_var("")
        if formula[0] == "lit":
            self.model.add_implication(switch, self._compile(formula))
        else:
            parts = [self._compile(f) for f in formula[1]]
            if formula[0] == "and":
                self.model.add_bool_and(parts).only_enforce_if(switch)
            else:
                self.model.add_bool_or(parts).only_enforce_if(switch)
        return switch

    def _compile(self, formula: tuple):
        """A literal that implies `formula` (half reification; formulas are in NNF)."""
        kind = formula[0]
        if kind == "lit":
            v = self.vars[formula[1]]
            return v if formula[2] else ~v
        found = self._compiled.get(formula)
        if found is not None:
            return found
        parts = [self._compile(f) for f in formula[1]]
        out = self.model.new_bool_var("")
        if kind == "and":
            self.model.add_bool_and(parts).only_enforce_if(out)
        else:
            self.model.add_bool_or(parts).only_enforce_if(out)
        self._compiled[formula] = out
        return out

    # ----- checking ---------------------------------------------------------------------------
    def check(self, kept: list[int]) -> Check:
        """Is the ground truth the only account satisfying the world rules and clues `kept`?"""
        self.model.clear_assumptions()
        self.model.add_assumptions([self.other] + [self.switches[i] for i in kept])
        self.solves += 1
        status = self.solver.solve(self.model)
        if status == cp_model.INFEASIBLE:
            core = sorted(self._slot_of_var[i]
                          for i in self.solver.sufficient_assumptions_for_infeasibility()
                          if i in self._slot_of_var)
            return Check(True, None, core)
        if status in (cp_model.FEASIBLE, cp_model.OPTIMAL):
            values = {key: self.solver.boolean_value(v) for key, v in self.vars.items()}
            return Check(False, values)
        return Check(None, None)

    def ground_truth_fits(self, kept: list[int]) -> bool:
        """Does the ground truth satisfy the world rules and the clues `kept`? (If it did not,
        "no other solution" would hold vacuously.)"""
        self.model.clear_assumptions()
        self.model.add_assumptions([self.switches[i] for i in kept] +
                                   [v if self.truth[key] else ~v for key, v in self.vars.items()])
        status = self.solver.solve(self.model)
        self.model.clear_assumptions()
        return status in (cp_model.FEASIBLE, cp_model.OPTIMAL)
