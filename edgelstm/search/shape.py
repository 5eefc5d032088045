"""The shape of a candidate model: what the footprint model and the search space talk about.

A :class:`ModelShape` is plain data (cell, layer widths, head, window, features, classes, frame
stacking K); :meth:`ModelShape.terms` turns it into the named quantities the footprint
coefficients multiply (edgelstm/search/footprint_coeffs.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

GATES = {"lstm": 4, "gru": 3}


@dataclass(frozen=True)
class ModelShape:
    cell: str                      # "lstm" or "gru"
    units: tuple[int, ...]         # one width per recurrent layer
    features: int                  # F: features per frame (before stacking)
    window: int                    # T: frames per window (before stacking)
    classes: int
    dense: tuple[int, ...] = field(default_factory=tuple)  # hidden Dense (ReLU) widths
    bidirectional: bool = False    # whole-window inference (NAME_classify_ws)
    stack: int = 1                 # K frames per cell step

    def to_json(self) -> dict:
        d = asdict(self)
        d["units"], d["dense"] = list(self.units), list(self.dense)
        return d

    @property
    def steps(self) -> int:
        return self.window // self.stack

    @property
    def step_features(self) -> int:
        return self.features * self.stack

    def layer_io(self) -> list[tuple[int, int]]:
        """(input width, units) of each recurrent layer (one direction)."""
        dirs = 2 if self.bidirectional else 1
        out, width = [], self.step_features
        for h in self.units:
            out.append((width, h))
            width = h * dirs
        return out

    def head_io(self) -> list[tuple[int, int]]:
        """(input, output) of each Dense layer, the logits last."""
        dirs = 2 if self.bidirectional else 1
        width, out = self.units[-1] * dirs, []
        for w in (*self.dense, self.classes):
            out.append((width, w))
            width = w
        return out

    @staticmethod
    def _gru_row_terms(io: list[tuple[int, int]], dirs: int, per: float) -> dict[str, float]:
        """The GRU step's three row products per layer (runtime edgelstm_gru_step_s8_s16*.c): the
        input side's 3U rows of the input width, z and r's 2U rows and the candidate's U rows of U
        columns. Each runs groups of 4 rows; a last partial group (1-3 rows) is copied next to zero
        rows and run as a whole group: its padding MACs, its copy and a fixed cost per call."""
        groups = pad = copy = calls = 0.0
        for i, h in io:
            for rows, n in ((3 * h, i), (2 * h, h), (h, h)):
                rem = rows % 4
                groups += -(-rows // 4)
                pad += ((4 - rem) % 4) * n
                copy += rem * n
                calls += 1.0 if rem else 0.0
        return {"ipf_groups_gru": dirs * groups * per, "ipf_macs_tail_gru": dirs * pad * per,
                "ipf_tailcopy_gru": dirs * copy * per, "ipf_tail_gru": dirs * calls * per}

    def terms(self) -> dict[str, float]:
        """The named quantities of this shape the footprint coefficients multiply.

        Terms are split by cell and by streaming (one direction, NAME_step per frame) vs
        whole-window (bidirectional, NAME_classify_ws), because each links other kernels.
        """
        c, g = self.cell, GATES[self.cell]
        dirs = 2 if self.bidirectional else 1
        mode = "ws" if self.bidirectional else "st"
        key = f"{c}_{mode}"
        io = self.layer_io()
        head = self.head_io()
        rec_w = sum(dirs * g * h * (i + h) for i, h in io)         # int8 weights of the gates
        rec_rows = sum(dirs * g * h for _, h in io)                # gate rows (bias, requantisation)
        head_w = sum(i * o for i, o in head)
        head_rows = sum(o for _, o in head)
        per = self.steps / self.window  # cell steps per frame (1/K; T % K trailing frames run none)
        t = {
            "one": 1.0,
            f"is_{key}": 1.0,
            "stacked": 1.0 if self.stack > 1 else 0.0,
            # flash: data
            f"w8_{c}": float(rec_w),
            f"rows_{c}": float(rec_rows),
            f"layers_{key}": float(len(io) * dirs),
            "w8_head": float(head_w),
            "rows_head": float(head_rows),
            "dense_layers": float(len(head)),
            "features": float(self.features),
            # RAM
            f"units_{key}": float(sum(h for _, h in io)),
            f"max_units_{key}": float(max(h for _, h in io)),
            f"max_in_{key}": float(max(i for i, _ in io)),
            "ws_seq": float(self.steps * max(dirs * h for _, h in io)) if self.bidirectional else 0.0,
            "ws_seq_all": float(self.steps * sum(dirs * h for _, h in io)) if self.bidirectional else 0.0,
            "stack_buffer": float(self.step_features) if self.stack > 1 else 0.0,
            # head buffers wider than the recurrent output (max(0, ...): never a negative size)
            "head_excess": float(max(0, max(o for _, o in head) - self.units[-1] * dirs)),
            # instructions per frame: one cell step every K frames (streaming), or the whole
            # window divided by its frames (whole-window, the head included). The cell step's
            # cost per MAC / unit / layer is the kernel's, shared by both modes.
            f"ipf_macs_{c}": rec_w * per,
            f"ipf_units_{c}": dirs * sum(h for _, h in io) * per,
            f"ipf_in_{c}": dirs * sum(i for i, _ in io) * per,
            f"ipf_layers_{c}": dirs * len(io) * per,
            # kernels run groups of 4 gate rows; the rows of the last, partial group cost more
            **(self._gru_row_terms(io, dirs, per) if c == "gru" else {
                "ipf_macs_tail_lstm": sum(dirs * g * (h % 4) * (i + h) for i, h in io) * per,
                "ipf_tail_lstm": sum(dirs * (h % 4) for _, h in io) * per,
                # vector paths (MVE: edgelstm_lstm_step_s8_s16_mve.c) run units 4 at a time (the
                # element-wise work per group of 4 units) and 16 columns per vector instruction
                "ipf_ugroups_lstm": sum(dirs * -(-h // 4) for _, h in io) * per,
                "ipf_chunks16_lstm": sum(dirs * h * (-(-i // 16) + -(-h // 16)) for i, h in io) * per}),
            f"ipf_one_{key}": 1.0,
            "ipf_ws_steps": per if self.bidirectional else 0.0,
            "ipf_head_ws": (head_w + 8 * head_rows) / self.window if self.bidirectional else 0.0,
            "ipf_stack_frame": float(self.features) if self.stack > 1 else 0.0,
        }
        return t
