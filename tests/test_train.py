import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest
from PIL import Image

from configs import tiny
from conftest import KODAK, PYTHON, ROOT, TRAIN_DATA
from jlic.train import data as data_lib
from jlic.train.loop import ConfigError, train


def _config(**overrides):
    c = tiny.get_config()
    c.model.N, c.model.M = 16, 24
    c.data.crop, c.data.batch_size = 64, 4
    for k, v in overrides.items():
        node = c
        *path, last = k.split(".")
        for p in path:
            node = node[p]
        node[last] = v
    return c


def _image_folder(tmp_path, n=6, size=(80, 96)):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    return folder


def test_training_lowers_the_loss(tmp_path):
    c = _config(steps=300, log_every=50, checkpoint_every=300, learning_rate=1e-3)
    c.data.train_dir = TRAIN_DATA
    train(c, str(tmp_path / "wd"))
    records = [json.loads(l) for l in open(tmp_path / "wd" / "metrics.jsonl")]
    assert [r["step"] for r in records] == [50, 100, 150, 200, 250, 300]
    assert records[-1]["loss"] < 0.6 * records[0]["loss"]
    assert os.path.isdir(tmp_path / "wd" / "checkpoints" / "300")
    assert any(f.startswith("events") for f in os.listdir(tmp_path / "wd" / "tensorboard"))


def _train_cmd(workdir, steps, data_dir):
    return [PYTHON, os.path.join(ROOT, "train.py"),
            "--config", os.path.join(ROOT, "configs/tiny.py"),
            "--workdir", str(workdir), f"--config.steps={steps}", "--config.checkpoint_every=10",
            "--config.log_every=10", "--config.model.N=16", "--config.model.M=24",
            "--config.data.crop=64", "--config.data.batch_size=4",
            f"--config.data.train_dir={data_dir}"]


def _final_model(workdir):
    from jlic.export import export_workdir

    out = os.path.join(workdir, "final.jlicm")
    return export_workdir(str(workdir), out, label="x")


def test_killed_or_stopped_run_resumes_to_identical_parameters(tmp_path):
    steps = 40
    env = dict(os.environ, PYTHONPATH=ROOT)
    ref = tmp_path / "ref"
    subprocess.run(_train_cmd(ref, steps, TRAIN_DATA), check=True, env=env, cwd=ROOT,
                   capture_output=True)
    wd = tmp_path / "killed"
    proc = subprocess.Popen(_train_cmd(wd, steps, TRAIN_DATA), env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = wd / "checkpoints" / "20"
    deadline = time.time() + 300
    while not ckpt.is_dir() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # a real kill, mid-run, without any chance to clean up
    proc.wait()
    done = sorted(int(d) for d in os.listdir(wd / "checkpoints") if d.isdigit())
    assert done and done[-1] < steps, "the run finished before it could be killed"
    subprocess.run(_train_cmd(wd, steps, TRAIN_DATA), check=True, env=env, cwd=ROOT,
                   capture_output=True)
    # stop_at ends a run early, checkpointed, with the schedule of all the steps: re-running
    # without it goes on to the same parameters
    stopped = tmp_path / "stopped"
    subprocess.run(_train_cmd(stopped, steps, TRAIN_DATA) + ["--config.stop_at=25"], check=True,
                   env=env, cwd=ROOT, capture_output=True)
    assert max(int(d) for d in os.listdir(stopped / "checkpoints") if d.isdigit()) == 25
    assert json.loads(open(stopped / "metrics.jsonl").readlines()[-1])["step"] == 25
    subprocess.run(_train_cmd(stopped, steps, TRAIN_DATA), check=True, env=env, cwd=ROOT,
                   capture_output=True)
    frozen = _final_model(ref)
    assert frozen.rd_lambda() == tiny.get_config().lmbda  # recorded for refinement
    a = frozen.params
    for other in (wd, stopped):
        b = _final_model(other).params
        assert a.keys() == b.keys()
        for k in a:
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"{other.name}: {k}")


def test_data_folder_errors_and_warnings(tmp_path, caplog):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(data_lib.DataError, match="no usable images"):
        data_lib.scan_images(str(empty))
    with pytest.raises(data_lib.DataError, match="does not exist"):
        data_lib.scan_images(str(tmp_path / "nope"))
    folder = _image_folder(tmp_path, size=(40, 50))
    good = (folder / "0.png").read_bytes()
    (folder / "truncated.png").write_bytes(good[: len(good) // 2])
    (folder / "garbage.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with caplog.at_level("WARNING"):
        scanned = data_lib.scan_images(str(folder), crop=64)
    assert scanned.num_skipped == 2 and len(scanned.paths) == 6 and scanned.num_small == 6
    assert "skipped 2 unreadable" in caplog.text and "padded" in caplog.text
    it = data_lib.make_iterator(data_lib.make_dataset(scanned, crop=64, batch_size=2, seed=0))
    assert next(it).shape == (2, 64, 64, 3)


def test_grayscale_rgba_and_16bit_images_load_as_rgb(tmp_path):
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (70, 70), dtype=np.uint8)).save(tmp_path / "g.png")
    Image.fromarray(rng.integers(0, 256, (70, 70, 4), dtype=np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(rng.integers(0, 65535, (70, 70), dtype=np.uint16)).save(tmp_path / "d.png")
    for name in ("g.png", "a.png", "d.png"):
        img = data_lib.load_rgb(str(tmp_path / name))
        assert img.shape == (70, 70, 3) and img.dtype == np.uint8


def test_config_and_workdir_errors(tmp_path):
    c = _config()
    del c["lmbda"]
    with pytest.raises(ConfigError, match="lmbda"):
        train(c, str(tmp_path / "wd"))
    with pytest.raises(ConfigError, match="scr.lambda_min"):
        train(_config(loss="scr", **{"scr.lambda_min": 0.3, "scr.lambda_max": 0.2}),
              str(tmp_path / "wd"))
    afb = {"model.name": "afb_mean_scale", "model.rate_range": (0.1, 1.5)}
    for curve in (((0.5, 0.01),), ((0.5, 0.01), (0.2, 0.1)), ((0.1, 0.0), (0.5, 0.01))):
        with pytest.raises(ConfigError, match="afb.lambda_curve"):
            train(_config(loss="afb", **afb, **{"afb.lambda_curve": curve}), str(tmp_path / "wd"))
    with pytest.raises(ConfigError, match="afb.rate_error"):
        train(_config(loss="afb", **afb, **{"afb.rate_error": "absolute"}), str(tmp_path / "wd"))
    with pytest.raises(ConfigError, match="model.rate_range"):
        train(_config(loss="afb", **{**afb, "model.rate_range": (0.0, 1.5)}), str(tmp_path / "wd"))
    # unclipped targets of a batch of 4 over 0.1-1.5 bpp reach 0.1 - 0.233: no log of them
    with pytest.raises(ConfigError, match="positive targets.*-0.133"):
        train(_config(loss="afb", **afb, **{"afb.rate_error": "log", "afb.clip_targets": False,
                                            "data.batch_size": 4}), str(tmp_path / "wd"))
    for frozen in (("encoder",), ("g_a", "g_s", "h_a", "h_s", "entropy_bottleneck")):
        with pytest.raises(ConfigError, match="frozen"):
            train(_config(frozen=frozen, **{"data.train_dir": TRAIN_DATA}), str(tmp_path / "f"))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="not writable"):
        train(_config(), str(blocker / "wd"))


def test_a_frozen_analysis_stays_exactly_while_the_rest_trains_on_rounded_latents(tmp_path):
    """Soft then hard, resumed from a soft run's checkpoint: g_a and the entropy bottleneck
    frozen, "ste" quantization.

    The resumed Adam state holds g_a's moments from the soft steps; a frozen g_a must not move
    on them, so the run's g_a is exactly the checkpoint's; the frozen bottleneck's quantiles
    (trained by the auxiliary loss, not the RD loss) stay as well."""
    import jax

    from jlic.train.loop import load_trained
    from jlic.train.step import split_model

    wd = str(tmp_path / "wd")
    soft = _config(steps=10, log_every=10, checkpoint_every=10, learning_rate=1e-3)
    soft.data.train_dir = TRAIN_DATA
    train(soft, wd)
    _, start, start_quantiles = split_model(load_trained(wd)[1])
    hard = _config(steps=20, log_every=10, checkpoint_every=10, learning_rate=1e-3,
                   quantization="ste", frozen=("g_a", "entropy_bottleneck"))
    hard.data.train_dir = TRAIN_DATA
    train(hard, wd)
    _, trained, trained_quantiles = split_model(load_trained(wd)[1])
    for a, b in zip(jax.tree.leaves((start["entropy_bottleneck"], start_quantiles)),
                    jax.tree.leaves((trained["entropy_bottleneck"], trained_quantiles)),
                    strict=True):
        np.testing.assert_array_equal(a, b)
    # (not h_s: early on most latents round to 0 and the scales sit at their lower bound, so
    # under "ste" h_s may get no gradient yet)
    for name in ("g_a", "g_s", "h_a"):
        same = [np.array_equal(a, b) for a, b in zip(jax.tree.leaves(start[name]),
                                                     jax.tree.leaves(trained[name]), strict=True)]
        assert all(same) if name == "g_a" else not any(same), name


def test_train_script_reports_bad_data_in_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    res = subprocess.run(_train_cmd(tmp_path / "wd", 5, empty), capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=ROOT), cwd=ROOT)
    assert res.returncode == 2
    assert "train.py: error: no usable images" in res.stderr
    assert "Traceback" not in res.stderr


def test_learning_rate_schedules_follow_the_config():
    from jlic.train.loop import learning_rate_schedule

    c = _config(steps=1000)
    step = learning_rate_schedule(c, 1e-3)
    assert float(step(0)) == pytest.approx(1e-3) and float(step(899)) == pytest.approx(1e-3)
    assert float(step(901)) == pytest.approx(1e-4)
    c.lr_schedule.warmup_steps, c.lr_schedule.decay = 100, "cosine"
    c.lr_schedule.decay_factor = 0.01
    cos = learning_rate_schedule(c, 1e-3)
    assert float(cos(0)) == 0.0 and float(cos(50)) == pytest.approx(5e-4)
    assert float(cos(100)) == pytest.approx(1e-3)
    assert float(cos(1000)) == pytest.approx(1e-5, rel=1e-3)
    assert float(cos(550)) == pytest.approx(1e-3 * (0.01 + 0.99 * 0.5), rel=1e-3)


@pytest.mark.parametrize("name", ["scr_mean_scale", "afb_mean_scale"])
def test_gain_lr_multiplier_speeds_up_exactly_the_rate_input_parameters(name):
    """Adam's first step moves every parameter by about its learning rate: the parameters that
    act on the rate input (SCR's per-level vectors, AFB's blocks) by the multiplier times more."""
    import jax
    import jax.numpy as jnp
    from flax import nnx

    from jlic.models import build_model
    from jlic.train.loop import GAIN_PARAMS, make_optimizers
    from jlic.train.step import split_model

    c = _config(learning_rate=1e-4, gain_lr_multiplier=10.0)
    c.lr_schedule.warmup_steps, c.grad_clip = 0, 1e9
    _, params, _ = split_model(build_model(name, nnx.Rngs(0), N=8, M=12))
    tx, _ = make_optimizers(c)
    updates, _ = tx.update(jax.tree.map(jnp.ones_like, params), tx.init(params), params)
    moved = {}
    for path, u in jax.tree_util.tree_leaves_with_path(updates):
        rate_input = bool({getattr(k, "key", None) for k in path} & set(GAIN_PARAMS))
        moved.setdefault(rate_input, set()).add(round(float(jnp.abs(u).max()), 6))
    assert moved == {False: {1e-4}, True: {1e-3}}


def test_quality_probe_writes_held_out_estimates(tmp_path):
    train_dir = _image_folder(tmp_path)
    held = tmp_path / "held"
    held.mkdir()
    Image.fromarray(np.full((70, 90, 3), 128, np.uint8)).save(held / "a.png")
    c = _config(steps=4, log_every=2, checkpoint_every=4)
    c.data.train_dir = str(train_dir)
    c.probe.every, c.probe.dir, c.probe.images, c.probe.crop = 2, str(held), 2, 64
    train(c, str(tmp_path / "wd"))
    probes = [json.loads(line) for line in open(tmp_path / "wd" / "metrics.jsonl")
              if "probe/bpp" in line]
    assert [p["step"] for p in probes] == [2, 4]
    assert all(p["probe/bpp"] > 0 and 0 < p["probe/psnr"] < 100 for p in probes)
    c.probe.dir = str(train_dir)  # a probe on training images is refused
    with pytest.raises(ConfigError, match="kept out of training"):
        train(c, str(tmp_path / "wd2"))


def test_a_run_written_before_a_model_field_existed_resumes_but_another_model_does_not(tmp_path):
    """check_resumable compares model configs with the constructors' defaults filled in: a
    workdir whose config.json predates a field (here ``fig2``) resumes with today's config of
    the same model; other sizes are refused."""
    from jlic.train.loop import ConfigError, check_resumable

    config = tiny.get_config()
    old = config.model.to_dict()
    old.pop("fig2")
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "config.json").write_text(json.dumps({"model": old}))
    check_resumable(config, str(tmp_path))
    config.model.N = 64
    with pytest.raises(ConfigError, match="another model"):
        check_resumable(config, str(tmp_path))


@pytest.mark.slow
def test_the_default_model_chain_trains_every_phase_from_the_last_into_a_working_model(tmp_path):
    """scripts/train_default_model.sh at two steps a phase on a narrow model: every phase starts
    from the previous phase's export with its own config, and the end is a variable-rate model
    file that codes."""
    from jlic import codec
    from jlic.frozen import FrozenModel
    from jlic.imageio import read_image

    runs = tmp_path / "chain"
    overrides = ["--config.steps=2", "--config.model.N=8", "--config.model.M=8",
                 "--config.data.batch_size=2", "--config.probe.every=0",
                 f"--config.data.train_dir={TRAIN_DATA}"]
    def chain():
        res = subprocess.run([os.path.join(ROOT, "scripts", "train_default_model.sh"),
                              str(runs), *overrides], env=dict(os.environ, PYTHON=PYTHON),
                             cwd=ROOT, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr[-3000:]
        return (runs / "default.jlicm").read_bytes()

    first = chain()
    assert chain() == first  # re-running resumes every finished phase: nothing trains again
    phases = "abcdfghiopt"
    configs = {p: json.load(open(runs / p / "config.json")) for p in phases}
    assert configs["a"]["init_from"] == ""
    for before, after in zip(phases[:-1], phases[1:], strict=True):
        assert configs[after]["init_from"] == str(runs / f"phase_{before}.jlicm")
    assert not configs["b"]["model"]["selective"]
    assert [configs[p]["data"]["crop"] for p in phases] == [128] * 6 + [256] * 5
    assert configs["h"]["stop_at"] == 614 and configs["i"]["stop_at"] == 0
    assert configs["p"]["quantization"] == "ste" and "g_a" in configs["p"]["frozen"]

    model = FrozenModel.load(str(runs / "default.jlicm"))
    assert model.rate_spec.kind == "quality"
    assert model.config["objective"]["lambda_max"] == 1.5  # phase P's ladder
    # phase P trained everything after the analysis, which stayed phase O's
    before = FrozenModel.load(str(runs / "phase_o.jlicm")).params
    g_a = [k for k in before if k.startswith("g_a/")]
    assert g_a and all(np.array_equal(before[k], model.params[k]) for k in g_a)
    assert any(not np.array_equal(before[k], model.params[k]) for k in before
               if k.startswith("h_s/"))
    # phase T added two decoder blocks and trained only g_s and them: P's files, its decoder
    assert configs["t"]["model"]["synthesis_blocks"] == 2
    phase_p = FrozenModel.load(str(runs / "phase_p.jlicm")).params
    assert any(k.startswith("g_s_blocks/") for k in model.params)
    assert all(np.array_equal(v, model.params[k]) for k, v in phase_p.items()
               if not k.startswith("g_s/"))
    image = read_image(os.path.join(KODAK, "kodim23.png"))[0][:128, :192]
    for quality in (1.0, 4.5, 8.0):  # (two steps a phase code little: no claim on the sizes)
        assert codec.decompress(model, codec.compress(model, image, rate=quality)).shape \
            == image.shape
