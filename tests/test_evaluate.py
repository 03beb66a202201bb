import json
import os
import subprocess

import numpy as np
import pytest
from PIL import Image

from conftest import KODAK, PYTHON, ROOT, SHARED
from jlic import DEFAULT_MODEL
from jlic.evaluate import report
from jlic.evaluate.bdrate import (
    bd_fit,
    bd_psnr,
    bd_rate,
    quality_at_equal_rate,
    rate_at_equal_quality,
)
from jlic.evaluate.metrics import MIN_SIDE, ms_ssim, psnr, ssim
from jlic.evaluate.references import read_compressai_json, read_scr_csv


def _pairs():
    a = np.asarray(Image.open(os.path.join(KODAK, "kodim01.png")).convert("RGB"))
    rng = np.random.default_rng(0)
    noisy = np.clip(a.astype(np.int16) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
    blurred = np.asarray(Image.fromarray(a).resize((192, 128), Image.BILINEAR)
                         .resize((768, 512), Image.BILINEAR))
    return a, noisy, blurred


# Reference values from an independent implementation, pytorch_msssim 1.0.0 (float64 tensors,
# data_range=255, its defaults: 11x11 Gaussian, sigma 1.5, standard 5-scale weights):
#   ms_ssim(T(a), T(d), data_range=255), ssim(T(a), T(d), data_range=255)
PYTORCH_MSSSIM = {"noisy": (0.9554426340069847, 0.7470047877868703),
                  "blurred": (0.8042644744621107, 0.4291506556645423)}


def test_ms_ssim_and_ssim_match_pytorch_msssim():
    a, noisy, blurred = _pairs()
    for name, d in (("noisy", noisy), ("blurred", blurred)):
        ref_ms, ref_s = PYTORCH_MSSSIM[name]
        assert ms_ssim(a, d) == pytest.approx(ref_ms, abs=1e-5)
        assert ssim(a, d) == pytest.approx(ref_s, abs=1e-5)


def test_ssim_matches_scikit_image():
    skimage_metrics = pytest.importorskip("skimage.metrics")
    a, noisy, _ = _pairs()
    ref = skimage_metrics.structural_similarity(
        a, noisy, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
        data_range=255, channel_axis=-1)
    assert ssim(a, noisy) == pytest.approx(ref, abs=1e-9)


def test_identical_images_and_size_limits():
    a, noisy, _ = _pairs()
    assert psnr(a, a) == float("inf")
    assert ms_ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    mse = np.mean((a.astype(float) - noisy) ** 2)
    assert psnr(a, noisy) == pytest.approx(10 * np.log10(255**2 / mse))
    small = a[: MIN_SIDE - 1, : MIN_SIDE - 1]
    with pytest.raises(ValueError, match="at least 161 pixels"):
        ms_ssim(small, small)
    with pytest.raises(ValueError, match="differ in shape"):
        psnr(a, a[:10])


def test_bd_rate_known_answers():
    rate = np.array([0.1, 0.2, 0.4, 0.8, 1.6])
    quality = 30 + 4 * np.log2(rate / 0.1)
    # the same curve needing 10% more bits everywhere: BD-rate +10%, BD-PSNR negative
    assert bd_rate(rate, quality, rate * 1.1, quality) == pytest.approx(10.0, abs=1e-6)
    assert bd_rate(rate, quality, rate * 0.8, quality) == pytest.approx(-20.0, abs=1e-6)
    assert bd_psnr(rate, quality, rate, quality + 0.5) == pytest.approx(0.5, abs=1e-9)
    assert np.isnan(bd_rate(rate, quality, rate * 100, quality + 100))


def _psnr_at(bpp):
    """A test RD curve that bends like a codec's: 30 dB at 0.1 bpp, +4 dB per doubling, less
    at higher rates."""
    doublings = np.log2(np.asarray(bpp) / 0.1)
    return 30 + 4 * doublings - 0.3 * doublings**2


def test_bd_rate_of_a_curve_of_three_points_is_interpolated_piecewise():
    """Three fixed-rate models against a curve: a cubic cannot be fitted to 3 points, so both
    curves are interpolated with PCHIP; on a smooth curve it reads what the cubic would."""
    rate = np.array([0.1, 0.2, 0.4, 0.8, 1.6])
    quality = _psnr_at(rate)
    on_curve = np.array([0.15, 0.45, 1.2])  # other rates than the reference's, on its curve
    q3 = _psnr_at(on_curve)
    assert bd_fit(rate, quality, on_curve * 1.25, q3) == "PCHIP"
    assert bd_fit(rate, quality, rate, quality) == "cubic"
    assert bd_rate(rate, quality, on_curve * 1.25, q3) == pytest.approx(25.0, abs=0.5)
    assert bd_rate(on_curve * 1.25, q3, rate, quality) == pytest.approx(-20.0, abs=0.5)
    assert bd_psnr(rate, quality, on_curve, q3 + 0.4) == pytest.approx(0.4, abs=0.02)
    # the same shift of identical qualities is exact under either fit
    assert bd_rate(rate[:3], quality[:3], rate[:3] * 1.1, quality[:3]) == pytest.approx(10.0)
    rows = report.bd_table({"bpp": list(on_curve * 1.25), "psnr-rgb": list(q3)},
                           {"curve": {"bpp": list(rate), "psnr-rgb": list(quality)}})
    assert rows[0]["BD-rate PSNR (%)"] == pytest.approx(25.0, abs=0.5)
    assert rows[0]["BD fit"] == "PCHIP"
    with pytest.raises(ValueError, match="at least 2 rate points"):
        bd_rate(rate, quality, [0.3], [33.0])
    with pytest.raises(ValueError, match="must rise in quality"):
        bd_rate(rate, quality, [0.2, 0.3, 0.4], [33.0, 33.0, 35.0])


def test_bd_rate_within_reads_separate_fixed_rate_models_as_one_curve(tmp_path):
    """bench/bd_rate_within.py: three one-point files joined by commas are one 3-point curve; a
    curve needing 25% more bits than it on its own curve reads +25% (PCHIP)."""
    fixed = []
    for r in (0.15, 0.45, 1.2):
        fixed.append(str(tmp_path / f"fixed_{r}.json"))
        report.write_json(fixed[-1], f"fixed_{r}", "", {"bpp": [r], "psnr-rgb": [_psnr_at(r)]})
    rate = np.array([0.1, 0.2, 0.4, 0.8, 1.6])
    report.write_json(tmp_path / "scr.json", "scr", "",
                      {"bpp": list(rate * 1.25), "psnr-rgb": list(_psnr_at(rate))})
    joined = ",".join(fixed)
    out = subprocess.run([PYTHON, os.path.join(ROOT, "bench", "bd_rate_within.py"), joined, joined,
                          str(tmp_path / "scr.json"), "--plot", str(tmp_path / "rd.png")],
                         capture_output=True, text=True, check=True)
    assert "against fixed_0.15 (+2 files)" in out.stdout
    assert Image.open(tmp_path / "rd.png").size[0] > 0
    whole = float(out.stdout.split("scr: whole overlap ")[1].split(";")[0])
    assert whole == pytest.approx(25.0, abs=0.5)


def test_bd_rate_per_image_counts_the_images_a_curve_loses_on(tmp_path):
    """bench/bd_rate_per_image.py: one-point files joined by commas are one reference curve per
    image; a test 25% dearer on one image and 10% cheaper on the other is above zero on 1 of 2,
    and a codec filter keeps another codec's rows out."""
    header = "codec,image,rate_input,bytes,bpp,psnr,ms_ssim,encode_s,decode_s,coded_fraction\n"

    fixed = []
    for r in (0.15, 0.45, 1.2):
        fixed.append(tmp_path / f"fixed_{r}.csv")
        fixed[-1].write_text(header + "".join(
            f"fixed_{r},{i}.png,nan,1,{r},{_psnr_at(r)},0.9,0,0,1\n" for i in ("a", "b")))
    rate = np.array([0.1, 0.2, 0.4, 0.8, 1.6])
    rows = [f"scr,a.png,{k},1,{r * 1.25},{_psnr_at(r)},0.9,0,0,1\n" for k, r in enumerate(rate)]
    rows += [f"scr,b.png,{k},1,{r * 0.9},{_psnr_at(r)},0.9,0,0,1\n" for k, r in enumerate(rate)]
    rows += [f"other,b.png,{k},1,{r * 9},{_psnr_at(r)},0.9,0,0,1\n" for k, r in enumerate(rate)]
    (tmp_path / "scr.csv").write_text(header + "".join(rows))
    out = subprocess.run([PYTHON, os.path.join(ROOT, "bench", "bd_rate_per_image.py"),
                          ",".join(map(str, fixed)), f"{tmp_path / 'scr.csv'}:scr", "--images"],
                         capture_output=True, text=True, check=True).stdout
    assert "against fixed_0.15 (+2 codecs)" in out
    assert "scr: 2 images, above zero on 1 of 2 with an overlap" in out
    a = float(out.split("scr a.png: ")[1].split()[0])
    b = float(out.split("scr b.png: ")[1].split()[0])
    assert a == pytest.approx(25.0, abs=0.5) and b == pytest.approx(-10.0, abs=0.5)


def test_bd_rate_within_a_quality_interval():
    """The same fits integrated over part of the overlap: a test curve 10% dearer below 33 dB
    and 10% cheaper above reads about +10% below, -10% above, between the two over all."""
    rate = np.array([0.1, 0.2, 0.4, 0.8, 1.6, 3.2])
    quality = np.array([27.0, 29.0, 31.0, 33.0, 35.0, 37.0])
    test = np.where(quality <= 33.0, rate * 1.1, rate * 0.9)
    whole = bd_rate(rate, quality, test, quality)
    low = bd_rate(rate, quality, test, quality, quality_interval=(27.0, 31.0))
    high = bd_rate(rate, quality, test, quality, quality_interval=(35.0, 37.0))
    assert low > 5.0 and high < -5.0 and low > whole > high
    assert bd_rate(rate, quality, rate * 1.1, quality, (28.0, 30.0)) == pytest.approx(10.0)
    assert bd_rate(rate, quality, test, quality, (0.0, 99.0)) == pytest.approx(whole)
    assert np.isnan(bd_rate(rate, quality, test, quality, (40.0, 50.0)))


def test_closed_loop_quality_compares_only_files_both_models_landed(tmp_path):
    """bench/closed_loop_quality.py: PSNR B - A over the closed-loop targets both runs landed
    within 1%; open-loop rows and a file 2% off its target are left out."""
    header = "image,mode,target,achieved,estimate,probes,reachable,psnr,refined\n"
    rows = {"a": [("k1", "closed", 0.3, 0.299, 30.0), ("k1", "closed", 0.8, 0.80, 33.0),
                  ("k2", "closed", 1.2, 1.19, 36.0), ("k2", "open", 0.8, 0.8, 99.0)],
            "b": [("k1", "closed", 0.3, 0.306, 31.0), ("k1", "closed", 0.8, 0.80, 32.0),
                  ("k2", "closed", 1.2, 1.20, 36.5), ("k2", "open", 0.8, 0.8, 0.0)]}
    paths = []
    for name, rs in rows.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(header + "".join(f"{i}.png,{m},{t},{a},{a},1,True,{q},False\n"
                                         for i, m, t, a, q in rs))
        paths.append(str(path))
    out = subprocess.run([PYTHON, os.path.join(ROOT, "bench", "closed_loop_quality.py"), *paths],
                         capture_output=True, text=True, check=True).stdout
    assert "2 targets landed by both (of 3 and 2 landed): PSNR B - A -0.250 dB" in out
    assert "0.5-1.0 bpp:   1 files, -1.000 dB" in out
    assert "1.0 and above bpp:   1 files, +0.500 dB" in out
    assert "0.0-0.5" not in out
    other = tmp_path / "c.csv"
    other.write_text(header)
    failed = subprocess.run([PYTHON, os.path.join(ROOT, "bench", "closed_loop_quality.py"),
                             paths[0], str(other)], capture_output=True, text=True)
    assert failed.returncode != 0 and "no target that both runs landed" in failed.stderr


def test_a_single_rate_point_is_compared_with_a_curve_at_equal_quality():
    rate = np.array([0.1, 0.2, 0.4, 0.8])
    quality = 30 + 4 * np.log2(rate / 0.1)  # 30, 34, 38, 42 dB
    # a point on the curve needing 25% more bits: +25% as the test, -20% as the reference
    assert rate_at_equal_quality(rate, quality, [0.25], [34.0]) == pytest.approx(25.0)
    assert rate_at_equal_quality([0.25], [34.0], rate, quality) == pytest.approx(-20.0)
    # between two points: log(rate) linear in quality (36 dB lies at sqrt(0.2 * 0.4) bpp)
    assert rate_at_equal_quality(rate, quality, [np.sqrt(0.08)], [36.0]) == pytest.approx(0.0)
    assert np.isnan(rate_at_equal_quality(rate, quality, [0.05], [29.0]))  # outside the curve
    # at 0.2 bpp the curve has 34 dB: a point of 35 dB is +1 dB as the test, -1 dB as the ref
    assert quality_at_equal_rate(rate, quality, [0.2], [35.0]) == pytest.approx(1.0)
    assert quality_at_equal_rate([0.2], [35.0], rate, quality) == pytest.approx(-1.0)
    assert quality_at_equal_rate(rate, quality, [np.sqrt(0.08)], [36.5]) == pytest.approx(0.5)
    assert np.isnan(quality_at_equal_rate(rate, quality, [1.0], [40.0]))
    with pytest.raises(ValueError, match="one point with a curve"):
        rate_at_equal_quality(rate, quality, rate, quality)
    rows = report.bd_table({"bpp": [0.25], "psnr-rgb": [34.0]},
                           {"curve": {"bpp": list(rate), "psnr-rgb": list(quality)}})
    assert rows[0]["rate at equal PSNR (%)"] == pytest.approx(25.0)
    assert rows[0]["PSNR at equal rate (dB)"] == pytest.approx(
        34.0 - (30 + 4 * np.log2(2.5)))
    assert "| curve | n/a (no overlap or < 2 points) | +25.00 | -1.29 |" in \
        report.markdown_table(rows)


def test_bd_rate_of_a_published_pair():
    """PAPERS.md: selective compression improves BD-rate by about 4% over the w/o-SC variant,
    computed from the SCR authors' released Kodak results."""
    curves = read_scr_csv(os.path.join(SHARED, "reference", "kodak", "scr",
                                       "scr_mse_optimized.csv"))
    for base in ("Hyperprior", "Mean-scale"):
        sc = curves[f"MSE-optimized SCR on {base}"]
        wo = curves[f"MSE-optimized SCR on {base} (w/o selective compression)"]
        value = bd_rate(wo["bpp"], wo["psnr-rgb"], sc["bpp"], sc["psnr-rgb"])
        assert -6.0 < value < -3.0, (base, value)
    mean = read_compressai_json(os.path.join(SHARED, "reference", "kodak", "compressai",
                                             "compressai-mbt2018-mean_mse_cpu.json"))["mbt2018-mean"]
    hyper = read_compressai_json(os.path.join(
        SHARED, "reference", "kodak", "compressai",
        "compressai-bmshj2018-hyperprior_mse_cpu.json"))["bmshj2018-hyperprior"]
    # the mean-scale model saves bits over the scale hyperprior (Minnen 2018)
    assert bd_rate(hyper["bpp"], hyper["psnr-rgb"], mean["bpp"], mean["psnr-rgb"]) < -3.0


def test_eval_quick_run_writes_every_output(tmp_path):
    data = tmp_path / "imgs"
    data.mkdir()
    for name in ("kodim01.png", "kodim02.png"):
        img = Image.open(os.path.join(KODAK, name)).convert("RGB")
        img.crop((0, 0, 256, 192)).save(data / name)
    out = tmp_path / "out"
    res = subprocess.run([PYTHON, os.path.join(ROOT, "eval.py"), "--model",
                          os.path.join(ROOT, "tests", "data", "golden.jlicm"),  # single-rate
                          "--data", str(data),
                          "--out", str(out), "--quick", "--no-progress"],
                         capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    for f in ("golden.json", "jpeg.json", "webp.json", "per_image.csv", "rd.png", "bd_rate.md",
              "summary.md"):
        assert (out / f).is_file(), f
    result = json.loads((out / "golden.json").read_text())
    assert set(result) == {"name", "description", "results"}
    bpp = result["results"]["bpp"][0]
    rows = (out / "per_image.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 + 2 * 2 * 4  # header, 2 images x 1 rate, 2 x 4 JPEG and WebP
    sizes = [int(r.split(",")[3]) for r in rows[1:3]]
    assert bpp == pytest.approx(np.mean([8 * s / (256 * 192) for s in sizes]))
    assert "python eval.py" in (out / "summary.md").read_text()


def test_a_family_of_single_rate_models_is_one_curve_and_a_rate_input_model_is_refused(tmp_path):
    data = tmp_path / "imgs"
    data.mkdir()
    Image.open(os.path.join(KODAK, "kodim01.png")).convert("RGB").crop((0, 0, 192, 128)).save(
        data / "kodim01.png")
    golden = os.path.join(ROOT, "tests", "data", "golden.jlicm")
    imported = str(tmp_path / "mean.jlicm")
    subprocess.run([PYTHON, "-m", "jlic", "import", os.path.join(
        ROOT, "tests", "data", "compressai", "mbt2018-mean.pth.tar"), "-o", imported],
        check=True, capture_output=True, cwd=ROOT)

    def run_eval(spec, out):
        return subprocess.run([PYTHON, os.path.join(ROOT, "eval.py"), "--model", spec,
                               "--data", str(data), "--out", str(out), "--baselines", "",
                               "--refs", "none", "--no-progress"],
                              capture_output=True, text=True, cwd=ROOT)

    res = run_eval(f"fixed={golden},{imported}", tmp_path / "family")
    assert res.returncode == 0, res.stderr
    family = json.loads((tmp_path / "family" / "fixed.json").read_text())["results"]
    singles = []
    for i, path in enumerate((golden, imported)):
        assert run_eval(path, tmp_path / f"single{i}").returncode == 0
        name = os.path.splitext(os.path.basename(path))[0]
        singles.append(json.loads((tmp_path / f"single{i}" / f"{name}.json").read_text())
                       ["results"])
    # one point per member, each the member's own measurement, sorted by rate
    expected = sorted((s["bpp"][0], s["psnr-rgb"][0]) for s in singles)
    assert family["bpp"] == pytest.approx([e[0] for e in expected])
    assert family["psnr-rgb"] == pytest.approx([e[1] for e in expected])
    rows = (tmp_path / "family" / "per_image.csv").read_text().splitlines()[1:]
    assert sorted(float(r.split(",")[2]) for r in rows) == [1.0, 2.0]  # position in the list

    res = run_eval(f"mixed={golden},{DEFAULT_MODEL}",
                   tmp_path / "mixed")
    assert res.returncode == 1
    assert "default.jlicm takes a quality rate input" in res.stderr
    assert "Traceback" not in res.stderr


def test_eval_defaults_to_the_bundled_model_and_refuses_bad_options_before_any_work(tmp_path):
    data = tmp_path / "imgs"
    data.mkdir()
    Image.open(os.path.join(KODAK, "kodim01.png")).convert("RGB").crop((0, 0, 192, 128)).save(
        data / "kodim01.png")

    def run_eval(*extra):
        return subprocess.run([PYTHON, os.path.join(ROOT, "eval.py"), "--data", str(data),
                               "--out", str(tmp_path / "out"), "--refs", "none",
                               "--no-progress", *extra], capture_output=True, text=True, cwd=ROOT)

    for extra, message in ((["--baselines", "png"], "unknown baseline png"),
                           (["--qualities", "1,high"], "--qualities takes comma-separated"),
                           (["--refine", "-2"], "--refine takes a number of steps")):
        res = run_eval(*extra)
        assert res.returncode == 2 and message in res.stderr, res.stderr
        assert "Traceback" not in res.stderr and not (tmp_path / "out").exists()
    res = run_eval("--baselines", "", "--qualities", "2,6")
    assert res.returncode == 0, res.stderr
    curve = json.loads((tmp_path / "out" / "default.json").read_text())
    assert "quality rate input" in curve["description"]
    assert len(curve["results"]["bpp"]) == 2
    assert curve["results"]["bpp"][0] < curve["results"]["bpp"][1]


def test_an_interrupted_evaluation_resumes_from_its_records(tmp_path):
    data = tmp_path / "imgs"
    data.mkdir()
    for name in ("kodim01.png", "kodim02.png"):
        Image.open(os.path.join(KODAK, name)).convert("RGB").crop((0, 0, 192, 128)).save(
            data / name)
    out = tmp_path / "out"

    def run_eval():
        res = subprocess.run([PYTHON, os.path.join(ROOT, "eval.py"), "--model",
                              os.path.join(ROOT, "tests", "data", "golden.jlicm"),
                              "--data", str(data), "--out", str(out), "--baselines", "",
                              "--refs", "none", "--no-progress"],
                             capture_output=True, text=True, cwd=ROOT)
        assert res.returncode == 0, res.stderr
        rows = (out / "per_image.csv").read_text().splitlines()[1:]
        return {r.split(",")[1]: float(r.split(",")[4]) for r in rows}, \
            (out / "summary.md").read_text()

    first, summary = run_eval()
    assert "earlier run" not in summary
    journal = out / "records.jsonl"
    lines = journal.read_text().splitlines()
    assert len(lines) == 2
    # an edited record proves reuse; the second line cut short as by a kill mid-write
    entry = json.loads(lines[0])
    assert entry["record"]["image"] == "kodim01.png"
    entry["record"]["bpp"] = 7.5
    journal.write_text(json.dumps(entry) + "\n" + lines[1][:40])
    second, summary = run_eval()
    assert second == {"kodim01.png": 7.5, "kodim02.png": first["kodim02.png"]}
    assert "1 of 2 model measurements are from an earlier run" in summary
    assert [json.loads(line)["record"]["image"] for line in journal.read_text().splitlines()] \
        == ["kodim01.png", "kodim02.png"]
    # a changed image is measured again, not taken from the records
    Image.open(os.path.join(KODAK, "kodim01.png")).convert("RGB").crop((64, 64, 256, 192)).save(
        data / "kodim01.png")
    third, summary = run_eval()
    assert third["kodim01.png"] != 7.5 and third["kodim02.png"] == first["kodim02.png"]
    assert "1 of 2 model measurements" in summary
