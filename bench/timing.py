"""Timing two implementations side by side: their runs alternate, so both see the same machine
(a VM's speed drifts by several percent within minutes)."""

import statistics
import time


def paired_medians(fn_a, fn_b, repeats: int, warmup: int = 1) -> tuple[float, float]:
    """Median seconds of ``fn_a()`` and ``fn_b()`` over ``repeats`` alternating runs, after
    ``warmup`` untimed runs of each."""
    for _ in range(warmup):
        fn_a()
        fn_b()
    a, b = [], []
    for _ in range(repeats):
        for fn, times in ((fn_a, a), (fn_b, b)):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(a), statistics.median(b)


def median_seconds(fn, repeats: int) -> float:
    """Median seconds of ``fn()`` over ``repeats`` runs, after one untimed warm-up run (which
    includes jlic's compilation)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
