"""Training metrics: JSON lines and TensorBoard event files in the workdir, a progress bar on
a terminal. Only the writer of process 0 writes."""

from __future__ import annotations

import json
import math
import os
import sys
import time

from tqdm import tqdm


class MetricWriter:
    def __init__(self, workdir: str, *, total_steps: int, initial_step: int, enabled: bool = True):
        self.enabled = enabled
        self.jsonl = None
        self.tb = None
        self.bar = None
        if not enabled:
            return
        self.jsonl = open(os.path.join(workdir, "metrics.jsonl"), "a", encoding="utf-8")
        from tensorboardX import SummaryWriter

        self.tb = SummaryWriter(os.path.join(workdir, "tensorboard"))
        self.bar = tqdm(total=total_steps, initial=initial_step, dynamic_ncols=True,
                        disable=not sys.stderr.isatty(), desc="train")
        self._last = (time.monotonic(), initial_step)

    def write(self, step: int, metrics: dict) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        t0, s0 = self._last
        steps_per_s = (step - s0) / max(now - t0, 1e-9)
        self._last = (now, step)
        record = {"step": step, **{k: float(v) for k, v in metrics.items()},
                  "steps_per_s": steps_per_s}
        # JSON has no NaN/inf: a non-finite value is written as null
        self.jsonl.write(json.dumps({k: v if math.isfinite(v) else None
                                     for k, v in record.items()}) + "\n")
        self.jsonl.flush()
        for k, v in record.items():
            if k != "step":
                self.tb.add_scalar(f"train/{k}", v, step)
        self.bar.set_postfix(loss=f"{record['loss']:.3f}", bpp=f"{record['bpp']:.3f}",
                             psnr=f"{record['psnr']:.2f}", it_s=f"{steps_per_s:.2f}")

    def write_probe(self, step: int, metrics: dict) -> None:
        """The quality probe's metrics (``jlic.train.probe``): a JSON line and scalars."""
        if not self.enabled:
            return
        record = {"step": step, **{k: float(v) for k, v in metrics.items()}}
        self.jsonl.write(json.dumps({k: v if math.isfinite(v) else None
                                     for k, v in record.items()}) + "\n")
        self.jsonl.flush()
        for k, v in metrics.items():
            self.tb.add_scalar(k, v, step)

    def advance(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def close(self) -> None:
        if self.enabled:
            self.bar.close()
            self.jsonl.close()
            self.tb.close()
