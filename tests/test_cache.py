"""The numba cache never stands in the way of a fit (fresh subprocesses)."""
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FIT = """
import numpy as np
import sklearn_losses
from sklearn_losses import LossRegressor
rng = np.random.default_rng(0)
X = rng.standard_normal((300, 4)); y = X.sum(1) + 0.1 * rng.standard_normal(300)
reg = LossRegressor(loss="huber").fit(X, y)
assert reg.solver_ == "newton" and np.all(np.isfinite(reg.coef_)), reg.coef_
print(sklearn_losses.__file__)
"""


def _run(code, env_update, pythonpath, cwd):
    env = dict(os.environ)
    env.pop("NUMBA_CACHE_DIR", None)
    env["PYTHONPATH"] = str(pythonpath)
    env.update(env_update)
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_read_only_install_fits_quietly(tmp_path):
    # a copy of the package where no cache folder can be created, even by root:
    # every ``__pycache__`` is a regular file, and NUMBA_CACHE_DIR and the
    # user-wide cache (XDG_CACHE_HOME) lie below a regular file
    pkg = tmp_path / "site" / "sklearn_losses"
    shutil.copytree(ROOT / "sklearn_losses", pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for folder in [pkg, *(p for p in pkg.rglob("*") if p.is_dir())]:
        (folder / "__pycache__").touch()
    blocker = tmp_path / "a_file"
    blocker.touch()
    env = {"NUMBA_CACHE_DIR": str(blocker / "numba"), "XDG_CACHE_HOME": str(blocker / "xdg"),
           "PYTHONDONTWRITEBYTECODE": "1"}
    proc = _run(FIT, env, pkg.parent, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith(str(pkg)), proc.stdout  # the read-only copy ran
    assert "numba" not in proc.stderr.lower() and "warning" not in proc.stderr.lower(), proc.stderr
    assert not list(tmp_path.rglob("*.nbi")) and not list(tmp_path.rglob("*.nbc"))


def test_warm_cache_second_process_is_quick(tmp_path):
    # the package's own cache, as a user gets it: the first process warms it
    # (a no-op when the test session already did), the second one reuses it
    first = _run(FIT, {}, ROOT, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    t0 = time.perf_counter()
    second = _run(FIT, {}, ROOT, cwd=tmp_path)
    elapsed = time.perf_counter() - t0
    assert second.returncode == 0, second.stderr
    assert "numba" not in second.stderr.lower(), second.stderr
    # a generous sanity bound (the benchmark measures the real latency)
    assert elapsed < 10.0, f"import + first fit with a warm cache took {elapsed:.1f} s"


def test_unwritable_numba_cache_dir_alone(tmp_path):
    # NUMBA_CACHE_DIR that cannot be created: numba falls back to another
    # cache folder (or memory), the fit works and nothing is printed
    blocker = tmp_path / "a_file"
    blocker.touch()
    proc = _run(FIT, {"NUMBA_CACHE_DIR": str(blocker / "numba")}, ROOT, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "numba" not in proc.stderr.lower() and "warning" not in proc.stderr.lower(), proc.stderr
