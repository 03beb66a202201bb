"""Training at scale, on CPU: simulated devices, real processes on loopback, preemption."""

import json
import os
import signal
import socket
import subprocess
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from conftest import PYTHON, ROOT, TRAIN_DATA
from jlic.models import build_model
from jlic.train.losses import rate_distortion_loss


def _cmd(workdir, steps, *extra, batch=8):
    return [PYTHON, os.path.join(ROOT, "train.py"),
            "--config", os.path.join(ROOT, "configs/tiny.py"),
            "--workdir", str(workdir), f"--config.steps={steps}", "--config.checkpoint_every=10",
            "--config.log_every=5", "--config.model.N=16", "--config.model.M=24",
            "--config.data.crop=64", f"--config.data.batch_size={batch}",
            f"--config.data.train_dir={TRAIN_DATA}", *extra]


def _env(devices=1):
    env = dict(os.environ, PYTHONPATH=ROOT)
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") +
                        f" --xla_force_host_platform_device_count={devices}").strip()
    return env


def _params(workdir):
    from jlic.export import export_workdir

    return export_workdir(str(workdir), os.path.join(workdir, "m.jlicm"), label="x").params


def test_one_and_eight_devices_agree(tmp_path):
    for n in (1, 8):
        subprocess.run(_cmd(tmp_path / f"d{n}", 4), env=_env(n), cwd=ROOT, check=True,
                       capture_output=True)
    a, b = _params(tmp_path / "d1"), _params(tmp_path / "d8")
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=2e-4, rtol=1e-3, err_msg=k)
    res = subprocess.run(_cmd(tmp_path / "bad", 2, batch=4), env=_env(8), cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 2 and "must be a multiple of the number of devices (8)" in res.stderr


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _two_processes(workdir, steps):
    port = _free_port()
    return [subprocess.Popen(_cmd(workdir, steps, f"--coordinator=127.0.0.1:{port}",
                                  "--num_processes=2", f"--process_id={i}", batch=4),
                             env=_env(1), cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True) for i in range(2)]


@pytest.mark.slow
def test_two_process_run_on_loopback_is_killed_and_resumes(tmp_path):
    wd = tmp_path / "mp"
    procs = _two_processes(wd, 40)
    deadline = time.time() + 400
    while not (wd / "checkpoints" / "20").is_dir() and time.time() < deadline:
        assert all(p.poll() is None for p in procs), [p.stderr.read() for p in procs]
        time.sleep(0.2)
    for p in procs:
        p.kill()
        p.wait()
    assert (wd / "checkpoints" / "20").is_dir()
    procs = _two_processes(wd, 40)
    for p in procs:
        assert p.wait(timeout=600) == 0, p.stderr.read()
    assert (wd / "checkpoints" / "40").is_dir()
    shards = [set(json.load(open(wd / f"data_shard_{i}_of_2.json"))) for i in range(2)]
    assert shards[0] and shards[1] and not shards[0] & shards[1]  # disjoint
    steps = [json.loads(l)["step"] for l in open(wd / "metrics.jsonl")]
    assert steps[-1] == 40  # only process 0 writes metrics


def test_sigterm_saves_a_checkpoint_that_resumes(tmp_path):
    wd = tmp_path / "term"
    proc = subprocess.Popen(_cmd(wd, 10_000), env=_env(1), cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    metrics = wd / "metrics.jsonl"
    deadline = time.time() + 300
    while not (metrics.exists() and metrics.read_text().count("\n") >= 2):
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read()
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    t0 = time.time()
    assert proc.wait(timeout=60) == 0
    assert time.time() - t0 < 60
    saved = max(int(d) for d in os.listdir(wd / "checkpoints") if d.isdigit())
    assert 10 <= saved < 10_000
    res = subprocess.run(_cmd(wd, saved + 3), env=_env(1), cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    steps = [json.loads(l)["step"] for l in open(metrics)]
    assert steps[-1] == saved + 3


def test_bfloat16_compute_stays_close_to_float32():
    x = jnp.asarray(np.random.default_rng(0).random((2, 64, 64, 3), np.float32))
    losses = {}
    for dtype in (jnp.float32, jnp.bfloat16):
        model = build_model("mean_scale", nnx.Rngs(0), N=16, M=24, dtype=dtype)
        m = rate_distortion_loss(0.013)(model, x, jax.random.key(0))
        assert m["loss"].dtype == jnp.float32 and m["bpp"].dtype == jnp.float32
        out = model(x, rng=jax.random.key(0), training=True)
        assert out["likelihoods"]["y"].dtype == jnp.float32  # the rate path stays float32
        losses[dtype] = float(m["loss"])
    assert losses[jnp.bfloat16] == pytest.approx(losses[jnp.float32], rel=0.05)
