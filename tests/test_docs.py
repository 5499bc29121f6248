"""The documentation stays true: README code runs, the catalogue page generates."""
import importlib.util
import re
from pathlib import Path

import pytest

import sklearn_losses as skl

ROOT = Path(__file__).resolve().parents[1]


def _load_gen_catalogue():
    spec = importlib.util.spec_from_file_location("gen_catalogue", ROOT / "docs" / "gen_catalogue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_catalogue_page_lists_every_key(tmp_path):
    gen = _load_gen_catalogue()
    path = gen.write_catalogue(str(tmp_path / "catalogue.rst"))
    text = Path(path).read_text(encoding="utf-8")
    for key in skl.list_losses():
        assert f"``{key}``" in text, key
    assert "Loss classes" in text


def test_readme_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first_screen = text[: text.index("## Contents")] if "## Contents" in text else text[:3000]
    assert 'pip install -e ".[demo]" && python -m sklearn_losses compare --quick' in first_screen
    assert first_screen.count("python3 -m venv .venv") == 2  # each command makes its own environment
    assert 'pip install -e ".[test]" && python -m pytest -q' in first_screen
    # the extras the README and .ci/run rely on exist
    setup_cfg = (ROOT / "setup.cfg").read_text(encoding="utf-8")
    for extra in ("test", "demo", "bench", "docs"):
        assert re.search(rf"^\s*{extra}\s*=", setup_cfg, re.M), extra
    assert "python -m pytest -q" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_python_blocks_run():
    """Every ```python block of the README runs, in order, in one namespace."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    namespace = {"__name__": "readme"}
    for i, block in enumerate(blocks):
        if "import dask" in block and importlib.util.find_spec("dask") is None:
            continue  # the "Scaling out" example needs the [dask] extra
        try:
            exec(compile(block, f"README.md python block {i}", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"README python block {i} fails: {type(exc).__name__}: {exc}\n{block}")
    assert namespace["huber"]([0.0, 1.0], [0.5, 4.0]) == pytest.approx(1.3125)
    assert namespace["reg"].solver_ in {"closed_form", "newton", "lbfgs", "sgd", "subgradient", "derivative_free"}


# ---------------------------------------------------------------- "How a loss talks to a solver"
def _load_docs_module(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "docs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_contract_page_lists_every_key_and_solver(tmp_path):
    """The generated tables name every catalogue key and every registered solver, and hold
    every part that contract.rst includes."""
    from sklearn_losses.solvers import SOLVERS

    gen = _load_docs_module("gen_contract")
    path = gen.write_contract(str(tmp_path / "contract_tables.inc"))
    text = Path(path).read_text(encoding="utf-8")
    for key in skl.list_losses():
        assert f"``{key}``" in text, key
    for name, cls in SOLVERS.items():
        assert f"``{name}``" in text, name
        assert f"{cls.__module__}.{cls.__qualname__}" in text, name
    page = (ROOT / "docs" / "contract.rst").read_text(encoding="utf-8")
    for part in gen.PARTS:
        assert text.count(f".. <{part}>") == 1 and text.count(f".. </{part}>") == 1, part
        assert f":start-after: .. <{part}>" in page and f":end-before: .. </{part}>" in page, part
    assert "\n     - -\n" not in text and "\n   * - -\n" not in text  # a lone "-" renders as a bullet


def test_contract_matrix_auto_is_a_solver_that_can_minimise_the_loss():
    """Each matrix row: solver="auto" picks one of the solvers whose requirements the loss meets."""
    gen = _load_docs_module("gen_contract")
    rows = gen.matrix_rows()
    keys = {r["key"] for r in rows}
    for task in gen.MATRIX_TASKS:
        assert set(skl.list_losses(task=task)) <= keys, task
    for r in rows:
        assert r["auto"] in r["solvers"], (r["key"], r["mode"], r["auto"], r["solvers"])


def test_contract_worked_example_runs(capsys):
    """docs/examples_contract.py, which contract.rst includes, runs without a warning and its
    solver choices hold."""
    import runpy
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    page = (ROOT / "docs" / "contract.rst").read_text(encoding="utf-8")
    assert ".. literalinclude:: examples_contract.py" in page
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ns = runpy.run_path(str(ROOT / "docs" / "examples_contract.py"), run_name="examples_contract")
    assert (ns["auto"].solver_, ns["sgd"].solver_) == ("lbfgs", "sgd")
    assert (ns["plain"].solver_, ns["declared"].solver_) == ("lbfgs", "closed_form")
    assert "kernel" in ns["caps"].provides and "quadratic" not in ns["caps"].provides
    printed = capsys.readouterr().out.splitlines()
    assert "lbfgs sgd" in printed and "lbfgs closed_form" in printed


# ---------------------------------------------------------------- one page per loss
def test_loss_pages_every_key_and_every_scalar_plot(tmp_path):
    """docs/gen_loss_pages.py writes a page per catalogue key and a PNG per scalar key."""
    gen = _load_docs_module("gen_loss_pages")
    keys = list(skl.list_losses())
    result = gen.write_loss_pages(str(tmp_path))
    assert result["pages"] == keys
    index = (tmp_path / "index.rst").read_text(encoding="utf-8")
    scalar = [k for k in keys if gen.is_scalar(skl.get_loss(k))]
    assert len(scalar) >= 20  # regression and binary classification keys
    for key in keys:
        page = tmp_path / f"{key}.rst"
        assert page.is_file(), key
        text = page.read_text(encoding="utf-8")
        assert f"``{key}``" in text and ".. autoclass::" in text and "Solvers" in text, key
        assert f"   {key}\n" in index, key
    for key in scalar:
        png = tmp_path / f"{key}.png"
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", key
        assert f".. image:: {key}.png" in (tmp_path / f"{key}.rst").read_text(encoding="utf-8")
    # no plot where it does not apply (vector / energy / ranking / generative inputs)
    assert not (tmp_path / "energy_nll.png").exists()


def test_errata_page_lists_exactly_the_differing_keys(tmp_path):
    gen = _load_docs_module("gen_loss_pages")
    keys = [k for k in skl.list_losses()
            if getattr(type(skl.get_loss(k)), "survey_properties", None) is not None]
    gen.write_loss_pages(str(tmp_path), keys=keys, plot_keys=[])
    errata = (tmp_path / "errata.rst").read_text(encoding="utf-8")
    for key in keys:
        info = gen.loss_info(key)
        listed = f":doc:`{key}`" in errata
        assert listed == (info["survey"] != info["verified"]), key
        if listed:
            assert "Errata" in (tmp_path / f"{key}.rst").read_text(encoding="utf-8"), key
