"""Small propositional formulas over the world model's variables.

A formula is a nested tuple in negation normal form:
  ("lit", key, positive)   a model variable (or its negation), `key` a hashable tuple
  ("and", (f, ...))        all hold
  ("or", (f, ...))         at least one holds
  TRUE / FALSE             constants
Clues are translated into formulas once (clues.py); the same formula is evaluated on a concrete
world (here) and compiled into the CP-SAT model (cpsat_model.py), so each clue has one meaning.
"""

from __future__ import annotations

from typing import Callable

TRUE = ("and", ())
FALSE = ("or", ())


def lit(*key) -> tuple:
    return ("lit", tuple(key), True)


def conj(*parts) -> tuple:
    flat = []
    for part in parts:
        if part == FALSE:
            return FALSE
        if part[0] == "and":
            flat.extend(part[1])
        else:
            flat.append(part)
    return flat[0] if len(flat) == 1 else ("and", tuple(flat))


def disj(*parts) -> tuple:
    flat = []
    for part in parts:
        if part == TRUE:
            return TRUE
        if part[0] == "or":
            flat.extend(part[1])
        else:
            flat.append(part)
    return flat[0] if len(flat) == 1 else ("or", tuple(flat))


def negate(formula: tuple) -> tuple:
    kind = formula[0]
    if kind == "lit":
        return ("lit", formula[1], not formula[2])
    if kind == "and":
        return disj(*(negate(f) for f in formula[1]))
    return conj(*(negate(f) for f in formula[1]))


def exactly_one(a: tuple, b: tuple) -> tuple:
    return disj(conj(a, negate(b)), conj(negate(a), b))


def equivalent(a: tuple, b: tuple) -> tuple:
    return disj(conj(a, b), conj(negate(a), negate(b)))


def evaluate(formula: tuple, value: Callable[[tuple], bool]) -> bool:
    """Truth of `formula` when each variable key has the truth `value(key)`."""
    kind = formula[0]
    if kind == "lit":
        return value(formula[1]) == formula[2]
    if kind == "and":
        return all(evaluate(f, value) for f in formula[1])
    return any(evaluate(f, value) for f in formula[1])
