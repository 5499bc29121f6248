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
    assert 'pip install -e ".[demo]" && python examples/compare_regression.py' in first_screen
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
        try:
            exec(compile(block, f"README.md python block {i}", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"README python block {i} fails: {type(exc).__name__}: {exc}\n{block}")
    assert namespace["huber"]([0.0, 1.0], [0.5, 4.0]) == pytest.approx(1.3125)
    assert namespace["reg"].solver_ in {"closed_form", "lbfgs", "sgd", "subgradient", "derivative_free"}
