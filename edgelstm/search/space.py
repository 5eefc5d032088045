"""The search space: Optuna suggestions -> a TrainConfig and the ModelShape it will have.

    cell          lstm | gru
    layers        1..3
    units         4..96 (log scale; every layer the same, as TrainConfig)
    stack K       1, 2, 4, 8, ... up to a quarter of the window (frames per cell step)
    dense head    none or one ReLU layer of 8..64
    learning rate 3e-4 .. 1e-2 (log)
    bidirectional only with --offline (whole-window inference)

Plain data (:data:`SPACE`); tests shrink it with :func:`Space.tiny` (tiny widths, one layer).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..train import CELLS, TrainConfig, choose_stack
from .shape import ModelShape

STACK_SUPPORTED = "stack" in {f.name for f in fields(TrainConfig)}


@dataclass(frozen=True)
class Space:
    cells: tuple[str, ...] = CELLS
    layers: tuple[int, int] = (1, 3)
    units: tuple[int, int] = (4, 96)
    dense: tuple[int, int] = (8, 64)   # width of the optional hidden Dense layer
    lr: tuple[float, float] = (3e-4, 1e-2)
    max_stack: int = 32
    offline: bool = False              # allows Bidirectional

    @staticmethod
    def tiny(offline: bool = False, cells: tuple[str, ...] = CELLS) -> "Space":
        """A space of tiny models (tests, quick looks): 1 layer of 2..6 units."""
        return Space(cells=cells, layers=(1, 1), units=(2, 6), dense=(2, 4), max_stack=4, offline=offline)

    def stacks(self, window: int) -> list[int]:
        """Frame-stacking choices: powers of two keeping at least 4 cell steps per window, and
        the K `edgelstm train` picks by default for this window."""
        if not STACK_SUPPORTED:
            return [1]
        out, k = [1], 2
        while k <= self.max_stack and window // k >= 4:
            out.append(k)
            k *= 2
        return sorted(set(out) | {default_stack(window)})

    def default_params(self, window: int) -> dict | None:
        """The trial of `edgelstm train`'s defaults (the search starts from it), if in the space."""
        d = TrainConfig()
        params = {"cell": d.cell, "layers": d.layers, "units": d.units, "dense_head": bool(d.dense_head),
                  "learning_rate": d.learning_rate}
        if STACK_SUPPORTED and len(self.stacks(window)) > 1:
            params["stack"] = default_stack(window)
        if self.offline:
            params["bidirectional"] = d.bidirectional
        inside = (d.cell in self.cells and self.layers[0] <= d.layers <= self.layers[1]
                  and self.units[0] <= d.units <= self.units[1] and not d.dense_head
                  and self.lr[0] <= d.learning_rate <= self.lr[1])
        return params if inside else None


def default_stack(window: int) -> int:
    return choose_stack(window)[0] if STACK_SUPPORTED else 1


def suggest(trial, space: Space, *, window: int, features: int, classes: int) -> tuple[dict, ModelShape]:
    """Ask ``trial`` for one point of ``space``: (params, shape). Params are the trial's choices."""
    cell = trial.suggest_categorical("cell", list(space.cells))
    layers = trial.suggest_int("layers", *space.layers)
    units = (trial.suggest_int("units", *space.units, log=True),) * layers  # TrainConfig: one width
    stacks = space.stacks(window)
    stack = trial.suggest_categorical("stack", stacks) if len(stacks) > 1 else 1
    use_dense = trial.suggest_categorical("dense_head", [False, True])
    dense = (trial.suggest_int("dense_units", *space.dense, log=True),) if use_dense else ()
    lr = trial.suggest_float("learning_rate", *space.lr, log=True)
    bi = trial.suggest_categorical("bidirectional", [False, True]) if space.offline else False
    shape = ModelShape(cell=cell, units=units, features=features, window=window, classes=classes, dense=dense,
                       bidirectional=bi, stack=stack)
    params = {"cell": cell, "layers": layers, "units": list(units), "stack": stack, "dense_head": list(dense),
              "learning_rate": lr, "bidirectional": bi}
    return params, shape


def train_config(params: dict, *, seed: int, epochs: int | None = None) -> TrainConfig:
    """The TrainConfig of a trial's params (training length: TrainConfig's defaults unless ``epochs``)."""
    units = params["units"]
    kw = dict(cell=params["cell"], units=int(units[0]), layers=len(units), bidirectional=params["bidirectional"],
              dense_head=list(params["dense_head"]), learning_rate=float(params["learning_rate"]), seed=seed)
    if STACK_SUPPORTED:
        kw["stack"] = int(params["stack"])
    if epochs is not None:
        kw["epochs"] = int(epochs)
    return TrainConfig(**kw)
