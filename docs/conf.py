"""Sphinx configuration for sklearn_losses.

Build with::

    python -m sphinx -b html docs docs/_build/html

``catalogue.rst`` is generated from the loss registry at every build by
``gen_catalogue.py``, and ``contract_tables.inc`` (the tables of ``contract.rst``)
from the losses' and solvers' declarations by ``gen_contract.py``, and ``losses/``
(one page and one plot per loss, and the errata page) by ``gen_loss_pages.py``
(all git-ignored), and ``taxonomy.png`` (the survey's tree, task -> family -> key,
shown on the catalogue page) by ``gen_taxonomy.py``. The examples in ``examples/``
become the gallery ``auto_examples/`` (sphinx-gallery runs every one of them but
``compare_regression.py``, the minute-long table demo, whose code is shown only).
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..")))  # the package, without installing it
sys.path.insert(0, HERE)

import sklearn_losses  # noqa: E402
from gen_catalogue import write_catalogue  # noqa: E402
from gen_contract import write_contract  # noqa: E402
from gen_loss_pages import write_loss_pages  # noqa: E402
from gen_taxonomy import write_taxonomy  # noqa: E402

project = "sklearn_losses"
author = "sklearn_losses developers"
copyright = "sklearn_losses developers"
release = sklearn_losses.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
]

# The examples as a gallery: every example runs at each build (they take a few seconds each),
# except compare_regression.py (tables, about a minute: shown, not run); a failing example fails
# the build; nothing is fetched from the network (no Binder, JupyterLite or remote doc links).
sphinx_gallery_conf = {
    "examples_dirs": os.path.join("..", "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"[\\/](?!compare_regression\.py$)[^\\/]+\.py$",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "reset_argv": "gallery_hooks.reset_argv",
    "download_all_examples": False,
    "backreferences_dir": None,
    "doc_module": (),
    "reference_url": {},
    "binder": {},
    "jupyterlite": None,
    "remove_config_comments": True,
    "show_memory": False,
    "show_signature": False,
    "min_reported_time": 1,
    "write_computation_times": False,
    "capture_repr": (),
    "matplotlib_animations": False,
}
# maths rendered offline: sphinx-mathjax-offline copies a bundled MathJax 3 into
# _static/mathjax and points mathjax_path at it (no CDN). Without it, the
# default (a CDN) would be used, so it is required by the ``docs`` extra.
try:
    import importlib.util

    if importlib.util.find_spec("sphinx-mathjax-offline") is not None:
        extensions.append("sphinx-mathjax-offline")
        mathjax_path = "mathjax/tex-chtml.js"
except (ImportError, ValueError):
    pass
try:  # numpydoc renders the NumPy-style docstrings best; napoleon is the fallback
    import numpydoc  # noqa: F401

    extensions.append("numpydoc")
    numpydoc_show_class_members = False
    numpydoc_validation_checks = set()
except ImportError:
    extensions.append("sphinx.ext.napoleon")
    napoleon_numpy_docstring = True

autosummary_generate = True
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    "show-inheritance": True,
}
autodoc_typehints = "none"

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
try:  # the scikit-learn look
    import pydata_sphinx_theme  # noqa: F401

    html_theme = "pydata_sphinx_theme"
    html_theme_options = {
        "navigation_with_keys": False,
        "show_toc_level": 2,
        "header_links_before_dropdown": 6,
        "navbar_end": ["theme-switcher", "navbar-icon-links"],
        # the catalogue's tables get the whole width (no "on this page" column)
        "secondary_sidebar_items": {"**": ["page-toc", "sourcelink"], "catalogue": []},
    }
    # the wide pages (tables) get the whole width: no section navigation on the left
    html_sidebars = {"index": [], "catalogue": [], "contract": [], "losses/index": []}
except ImportError:
    html_theme = "alabaster"
html_title = f"sklearn_losses {release}"  # short: the default "... documentation" ran under the navbar
html_static_path = ["_static"]
html_css_files = ["sklearn_losses.css"]


def _skip_metadata_routing(app, what, name, obj, skip, options):
    """Hide scikit-learn's generated ``set_*_request`` / ``get_metadata_routing`` methods."""
    if name == "get_metadata_routing" or (name.startswith("set_") and name.endswith("_request")):
        return True
    return None


#: user-guide pages written by others that may not exist yet in a checkout: the toctree line
#: naming one is dropped (at read time) while its file is absent, so the build stays warning-free
OPTIONAL_PAGES = {"user_guide/index": ["scaling_out"]}


def _drop_missing_toctree_entries(app, docname, source):
    for entry in OPTIONAL_PAGES.get(docname, []):
        if not os.path.exists(os.path.join(HERE, os.path.dirname(docname), entry + ".rst")):
            source[0] = "\n".join(line for line in source[0].split("\n") if line.strip() != entry)


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_routing)
    app.connect("source-read", _drop_missing_toctree_entries)


# generate catalogue.rst from the registry
write_catalogue(os.path.join(HERE, "catalogue.rst"))
# generate one page per loss (and the errata page) into losses/ (git-ignored)
write_loss_pages(os.path.join(HERE, "losses"))
# generate the tables of contract.rst from the declarations (included, not a page of its own)
write_contract(os.path.join(HERE, "contract_tables.inc"))
# draw the taxonomy tree (task -> family -> key) from the registry, for the catalogue page
write_taxonomy(os.path.join(HERE, "taxonomy.png"))
