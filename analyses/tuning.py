"""The search that tunes every baseline's parameters (the classical filters and PCA's k): a
coordinate search over grids that are extended past a best edge and refined beside a best
continuous value, so that no chosen value sits at the edge of what was tried."""

import itertools
from dataclasses import dataclass

import numpy as np

MAX_EXTENSIONS = 6
REFINEMENTS = 2  # rounds that halve the grid steps beside a continuous best value


@dataclass(frozen=True)
class Param:
    """One tuned parameter: its starting grid, the value the library uses by default, whether
    the grid may be extended past an edge (by `factor`, or by `step` for integers), and the
    natural bounds at which an edge is no defect (the parameter cannot go further)."""
    name: str
    grid: tuple
    default: object
    factor: float = None
    step: int = None
    low: float = None
    high: float = None
    jumps: tuple = ()  # (value, next) pairs that replace factor and step past an edge

    def beyond(self, value, direction):
        """The next value past `value` (direction -1 or +1), or None at a natural bound."""
        if (direction < 0 and value == self.low) or (direction > 0 and value == self.high):
            return None
        if self.jumps:
            return dict(self.jumps).get(value)
        if self.factor:
            new = float(f"{value * self.factor ** direction:.4g}")
        elif self.step:
            new = value + direction * self.step
        else:
            return None
        if (self.low is not None and new < self.low) or (self.high is not None and
                                                          new > self.high):
            new = self.low if direction < 0 else self.high
        return new

    def natural(self, value):
        return value in (self.low, self.high)


def tune(score, params, log=lambda text: None, start=None):
    """Coordinate search for the values of `params` that maximise score(values): each parameter
    in turn over its grid with the others fixed, and one grid step of two parameters at once
    (neither a named category) where that gains, until nothing changes; an edge that is best is extended past
    (Param.beyond) up to MAX_EXTENSIONS times; then REFINEMENTS rounds
    halve the grid steps beside each continuous best value and search again. Returns the chosen
    values; per parameter its grid, its curve at the chosen values of the others, whether the
    choice sits at an edge that is not a natural bound and whether the search converged; and
    the score at the chosen values. The search starts at `start` (values on the grids, e.g.
    another search's result) if given, else at the defaults or the grids' middles."""
    cache = {}

    def at(values):
        key = tuple(values.items())
        if key not in cache:
            cache[key] = score(dict(values))
        return cache[key]

    grids = {p.name: sorted(p.grid) if p.factor or p.step is not None else list(p.grid)
             for p in params}
    chosen = {p.name: p.default if p.default in grids[p.name] else
              grids[p.name][len(grids[p.name]) // 2] for p in params}
    if start:
        for p in params:
            if start[p.name] not in grids[p.name]:
                grids[p.name] = sorted(grids[p.name] + [start[p.name]])
        chosen = dict(start)
    extended, converged = {p.name: 0 for p in params}, True

    def diagonal_step():  # coupled parameters (h and sigma): one step of two at once
        # not with a named category (BM3D's profile): its order on the grid means nothing, so
        # a step along it and another value at once follows no ridge (and costs BM3D runs)
        for p, q in itertools.combinations([p.name for p in params
                                            if not isinstance(p.grid[0], str)], 2):
            for dp, dq in itertools.product((-1, 1), repeat=2):
                i, j = grids[p].index(chosen[p]) + dp, grids[q].index(chosen[q]) + dq
                if 0 <= i < len(grids[p]) and 0 <= j < len(grids[q]):
                    step = {**chosen, p: grids[p][i], q: grids[q][j]}
                    if at(step) > at(chosen):
                        return step
        return None

    for refinement in range(REFINEMENTS + 1):
        for _ in range(len(params) * 8):
            changed = False
            for p in params:
                while True:
                    grid = grids[p.name]
                    curve = [at({**chosen, p.name: v}) for v in grid]
                    best = grid[int(np.argmax(curve))]
                    edge = 0 if best == grid[0] else 1 if best == grid[-1] else None
                    if edge is None or extended[p.name] >= MAX_EXTENSIONS:
                        break
                    new = p.beyond(best, 1 if edge else -1)
                    if new is None or new in grid:
                        break
                    grids[p.name] = sorted(grid + [new])
                    extended[p.name] += 1
                    log(f"  {p.name}: best at the edge {best}, grid extended to {new}")
                changed |= best != chosen[p.name]
                chosen[p.name] = best
            if not changed and (step := diagonal_step()):
                chosen, changed = step, True
            if not changed:
                break
        else:  # the passes ran out while values still moved: said, not hidden
            converged = False
        if refinement < REFINEMENTS:  # halve the steps beside each continuous best value
            for p in params:
                grid, i = grids[p.name], grids[p.name].index(chosen[p.name])
                if p.factor:
                    grids[p.name] = sorted(set(grid) | {
                        float(f"{(grid[j] + grid[i]) / 2:.4g}") for j in (i - 1, i + 1)
                        if 0 <= j < len(grid)})
    result = {}
    for p in params:
        grid = grids[p.name]
        curve = [at({**chosen, p.name: v}) for v in grid]
        best = chosen[p.name]
        at_edge = (p.factor or p.step is not None) and best in (grid[0], grid[-1]) and not (
            p.natural(best))
        result[p.name] = {"grid": grid, "psnr_db": curve, "chosen": best,
                          "at_grid_edge": bool(at_edge),
                          "at_natural_bound": bool(p.natural(best)),
                          "range_db": float(max(curve) - min(curve)),
                          "search_converged": converged}
    return chosen, result, at(chosen)
