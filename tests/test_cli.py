"""The command line (python -m sklearn_losses): compare on bundled and user files, catalogue, check."""
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import dump_svmlight_file, make_classification, make_regression

import sklearn_losses as skl
from sklearn_losses import cli


def test_compare_on_a_users_csv(tmp_path, capsys):
    X, y = make_regression(120, 3, noise=5.0, random_state=0)
    path = tmp_path / "my.csv"
    header = "a,b,c,price"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=header, comments="")
    rc = cli.main(["compare", str(path), "--target", "price", "--losses", "huber", "mean_absolute_error",
                   "mean_bias_error", "--cv", "3", "--out", str(tmp_path / "out"), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "huber" in out and "mean_absolute_error" in out and "newton" in out
    assert "mean_bias_error | refused: " in out  # a metric, refused with its reason
    csv = (tmp_path / "out" / "my_results.csv").read_text()
    assert csv.splitlines()[0].startswith("loss") and "r2" in csv
    assert (tmp_path / "out" / "my_scores.png").exists()


def test_compare_infers_classification_and_reads_svmlight(tmp_path, capsys):
    X, y = make_classification(150, 4, random_state=0)
    path = tmp_path / "data.svmlight"
    dump_svmlight_file(X, y, str(path))
    cli.main(["compare", str(path), "--losses", "cross_entropy", "hinge", "--cv", "3",
              "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert "balanced_accuracy" in out and "cross_entropy" in out


def test_compare_errors_name_the_columns(tmp_path):
    path = tmp_path / "t.csv"
    np.savetxt(path, np.ones((5, 2)), delimiter=",", header="x,y", comments="")
    with pytest.raises(SystemExit, match="columns"):
        cli.main(["compare", str(path), "--target", "nope"])
    with pytest.raises(SystemExit, match="--target"):
        cli.main(["compare", str(path)])


def test_infer_task():
    assert cli.infer_task(np.array([0.5, 1.7, 2.2]), None) == "regression"
    assert cli.infer_task(np.array([0, 1, 1, 0]), None) == "classification"
    assert cli.infer_task(np.array(["a", "b"]), None) == "classification"
    assert cli.infer_task(np.arange(5.0), np.zeros(5)) == "ranking"


def test_catalogue_filters(capsys):
    cli.main(["catalogue", "--task", "regression", "--property", "DIFF", "CONVEX"])
    out = capsys.readouterr().out
    expected = skl.list_losses(task="regression", properties={"DIFF", "CONVEX"})
    assert f"({len(expected)} keys)" in out
    assert "huber | regression" in out and "mean_absolute_error" not in out


def test_check_a_key_and_a_users_file(tmp_path, capsys):
    assert cli.main(["check", "huber", "--param", "delta=2.0"]) == 0
    assert "DIFF" in capsys.readouterr().out
    src = tmp_path / "myloss.py"
    src.write_text(
        "import numpy as np\nfrom sklearn_losses import Loss\n"
        "class Wrong(Loss):\n"
        "    name, task, family = 'wrong', 'regression', 'error'\n"
        "    properties = frozenset({'CONT', 'DIFF', 'CONVEX'})  # false: |r| is not differentiable\n"
        "    def _loss_grad(self, y, p):\n        return np.abs(p - y), np.sign(p - y)\n"
        "    def _probe(self, rng):\n        y = np.array([0.3, -1.0, 2.0])\n        return y, [y.copy()]\n")
    assert cli.main(["check", f"{src}:Wrong"]) == 1  # the false DIFF claim is caught


def test_python_dash_m_runs():
    res = subprocess.run([sys.executable, "-m", "sklearn_losses", "catalogue", "--task", "ranking"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "ranknet" in res.stdout


def test_compare_generative_section_meets_its_oracles(capsys):
    """The main job's generative section: each generative model against its closed form."""
    assert cli.main(["compare", "--task", "generative", "--quick", "--quiet"]) == 0
    out = capsys.readouterr().out
    rows = {line.split(" | ")[0]: line.split(" | ") for line in out.splitlines() if " | " in line}
    assert float(rows["elbo"][2]) < 1e-4                      # pPCA = PCA's probabilistic model
    assert float(rows["vq_vae"][2]) < 0.05                    # within a few per cent of KMeans
    assert float(rows["denoising_score_matching"][2]) < 1e-8  # the precision (S + σ²I)^-1
