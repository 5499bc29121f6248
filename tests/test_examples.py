"""The examples run, exit 0 and print their tables.

They run as subprocesses, as a user would run them, from a temporary working
directory (nothing is written into the repository). Timeouts are generous
because a cold numba cache compiles the solvers on first import; with a warm
cache ``compare_regression.py --quick`` (all three sections) takes well under a minute.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TIMEOUT = 300  # seconds; cold-cache compilation included


def run_example(name, *args, cwd):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore")
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, (
        f"{name} {' '.join(args)} exited {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout[-4000:]}\n--- stderr ---\n{proc.stderr[-4000:]}"
    )
    return proc.stdout


def test_compare_regression_quick(tmp_path):
    out = run_example("compare_regression.py", "--quick", cwd=tmp_path)
    # the results table: header, then one row per loss (and the sklearn references)
    header = next((line for line in out.splitlines() if line.startswith("loss ")), None)
    assert header is not None, out
    for column in ("MAE", "RMSE", "fit s", "solver"):
        assert column in header
    for key in ("mean_squared_error", "mean_absolute_error", "huber", "log_cosh", "quantile"):
        assert any(line.startswith(key) for line in out.splitlines()), f"no row for {key}\n{out}"
    assert "[sklearn] LinearRegression" in out
    # mean_bias_error is shown to be refused, and nothing failed
    assert "'mean_bias_error' is refused" in out, out
    assert "FAILED" not in out
    assert not (tmp_path / "loss_curves.png").exists()  # --quick does not plot

    # classification: the breast-cancer table, the refusal of linear energies, the imbalanced table
    lines = out.splitlines()
    assert "CLASSIFICATION: load_breast_cancer" in out, out
    header = next((line for line in lines if line.startswith("loss ") and "bal. acc" in line), None)
    assert header is not None, out
    for column in ("accuracy", "log-loss", "fit s", "solver"):
        assert column in header
    for key in ("cross_entropy", "focal", "perceptron", "energy_hinge", "energy_nll", "distillation"):
        assert any(line.startswith(key + " ") for line in lines), f"no row for {key}\n{out}"
    assert "LossClassifier(loss='energy', energy_model='linear') is refused" in out, out
    assert "[sklearn] LogisticRegression" in out
    assert "IMBALANCED: load_digits" in out, out
    header = next((line for line in lines if line.startswith("loss ") and "recall" in line), None)
    assert header is not None and "precision" in header, out
    assert any(line.startswith("cross_entropy, class_weight='balanced'") for line in lines), out

    # ranking: the NDCG@10 table on the LTR data, or a clear skip message without it
    assert "RANKING:" in out, out
    # the data ships with the package: the ranking section runs on any fresh clone
    header = next((line for line in lines if line.startswith("model ") and "NDCG@10" in line), None)
    assert header is not None, out
    for model in ("LossRanker ranknet", "LossRanker listwise_softmax", "[sklearn] Ridge"):
        assert any(line.startswith(model) for line in lines), f"no row for {model}\n{out}"
    assert "triplet: an embedding loss" in out


def test_compare_regression_ranking_skips_without_data(tmp_path):
    out = run_example("compare_regression.py", "--quick", "--section", "ranking",
                      "--ltr-data", str(tmp_path / "missing"), cwd=tmp_path)
    assert "RANKING: skipped" in out and "not in" in out, out


def test_custom_loss(tmp_path):
    out = run_example("custom_loss.py", cwd=tmp_path)
    assert "check_properties" in out
    for label in ("cauchy, solver='lbfgs'", "cauchy, solver='sgd'", "huber"):
        assert label in out, out
    assert "test MAE" in out


def test_compare_regression_help(tmp_path):
    out = run_example("compare_regression.py", "--help", cwd=tmp_path)
    assert "--quick" in out and "--section" in out


def test_generative_vae_vq_lm(tmp_path):
    out = run_example("generative_vae_vq_lm.py", "--quick", "--out", str(tmp_path), cwd=tmp_path)
    assert out.strip()
    assert len(list(tmp_path.glob("*.png"))) >= 1


def test_generative_gan_diffusion(tmp_path):
    out = run_example("generative_gan_diffusion.py", "--out", str(tmp_path), cwd=tmp_path)
    assert out.strip()
    assert len(list(tmp_path.glob("*.png"))) >= 1


# ---------------------------------------------------------------- the gallery's plot_* examples
def test_plot_regression_losses(tmp_path):
    out = run_example("plot_regression_losses.py", cwd=tmp_path)
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:] if line.strip()}
    assert set(rows) == {"mean_squared_error", "huber", "log_cosh", "mean_absolute_error"}, out
    # the outliers (all upwards) lift the least-squares intercept; the robust losses stay near 1
    assert float(rows["mean_squared_error"][2]) > 1.8, out
    for key in ("huber", "log_cosh", "mean_absolute_error"):
        assert abs(float(rows[key][2]) - 1.0) < 0.4 and abs(float(rows[key][1]) - 0.8) < 0.1, out


def test_plot_classification_focal(tmp_path):
    out = run_example("plot_classification_focal.py", cwd=tmp_path)
    recall = {line[:28].strip(): float(line[28:].split()[0]) for line in out.splitlines()[1:] if line.strip()}
    assert len(recall) == 4, out
    # class weighting (balanced, or focal's alpha) finds more of the 8 % positives
    assert recall["cross_entropy, balanced"] > recall["cross_entropy"] + 0.1, out
    assert recall["focal (gamma=2, alpha=0.9)"] > recall["focal (gamma=2)"] + 0.1, out


def test_plot_ranking_lambdaloss(tmp_path):
    out = run_example("plot_ranking_lambdaloss.py", cwd=tmp_path)
    ndcg = {line.split()[0]: float(line.split()[1]) for line in out.splitlines()
            if line.split() and line.split()[0] in ("ranknet", "lambda_loss")}
    assert set(ndcg) == {"ranknet", "lambda_loss"}, out
    assert "[sklearn] Ridge" in out and all(0.5 < v <= 1 for v in ndcg.values()), out
