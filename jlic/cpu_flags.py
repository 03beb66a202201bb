"""CPU settings applied by jlic's entry points before JAX and numpy start.

Training (``configure("train")``): ``--xla_cpu_experimental_ynn_fusion_type=dot,reduce``
routes matrix products, convolution gradients and reductions to YNNPACK kernels: on the 2-core
development machines this made the weight gradient of a 3x3 conv 3.7x faster and the training
step 1.6x faster; leaving out YNNPACK's elementwise fusions ("eltwise", which also pull forward
convolutions with their bias add into a slower YNNPACK kernel) measured a few percent faster
again (bench/train_step.py, BENCHMARKS.md).

Coding (``configure("codec")``: ``jlic``, eval.py): YNNPACK stays off. It fuses each IGDN with
the next convolution into one kernel that is slower than XLA's separate ones: synthesis of a
768x512 image takes 0.14 s with it, 0.10 s without (bench/codec.py, BENCHMARKS.md).

Both: ``OPENBLAS_THREAD_TIMEOUT=4``. numpy's OpenBLAS threads otherwise spin for a long while
after each matrix product, taking a core from the XLA computation that follows (decoding a
768x512 image took 0.18 s instead of 0.14 s). OpenBLAS keeps its threads for the exact
hyper-synthesis (float64 products: 78 ms with two threads, 131 ms with one for a 768x512 image
with the bundled model); the post-filter's least squares runs on one (``jlic.postfilter.fit``).

The ``jlic`` command, eval.py, train.py and the benches call ``configure`` first thing; code
that uses jlic from Python does the same (README "From Python"): the flags are read once per
process, so the first call wins.

None of this changes results beyond float reassociation; the entropy-coding parameters do not
depend on it (jlic.exact).
"""

import os

_XLA_FLAGS = {
    "train": ("--xla_cpu_experimental_ynn_fusion_type=dot,reduce",),
    "codec": ("--xla_cpu_experimental_ynn_fusion_type=",),
}


def configure(workload: str) -> None:
    """Sets the flags of ``workload`` ("train" or "codec") unless the user already set them.
    Must run before JAX initialises its backend and before numpy is first imported."""
    current = os.environ.get("XLA_FLAGS", "")
    extra = [f for f in _XLA_FLAGS[workload] if f.split("=")[0] not in current]
    if extra:
        os.environ["XLA_FLAGS"] = " ".join([current, *extra]).strip()
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
