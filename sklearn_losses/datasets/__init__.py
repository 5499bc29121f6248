"""Data sets that ship with the package (in the style of :mod:`sklearn.datasets`)."""
from ._ltr import load_ltr_example

__all__ = ["load_ltr_example"]
