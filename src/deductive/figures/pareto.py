"""Pareto frontier of cost against accuracy: cheaper and more accurate dominates."""

from __future__ import annotations

from typing import Sequence


def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """(cost, accuracy) `a` dominates `b`: no dearer, no less accurate, better in one."""
    return a[0] <= b[0] and a[1] >= b[1] and (a[0] < b[0] or a[1] > b[1])


def frontier(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated (cost, accuracy) points, cheapest first.

    Exact duplicates are all kept (neither dominates the other); ties in cost are ordered by
    accuracy, then by index, so the result is deterministic.
    """
    keep = [i for i, p in enumerate(points)
            if not any(dominates(q, p) for j, q in enumerate(points) if j != i)]
    return sorted(keep, key=lambda i: (points[i][0], points[i][1], i))


def staircase(points: Sequence[tuple[float, float]], x_max: float) -> tuple[list[float], list[float]]:
    """The frontier as a step line: the best accuracy reachable at each cost, up to `x_max`."""
    idx = frontier(points)
    xs: list[float] = []
    ys: list[float] = []
    for n, i in enumerate(idx):
        x, y = points[i]
        if xs:
            xs.append(x)
            ys.append(ys[-1])
        xs.append(x)
        ys.append(y)
    if xs:
        xs.append(max(x_max, xs[-1]))
        ys.append(ys[-1])
    return xs, ys
