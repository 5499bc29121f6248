"""LightGBM's lambdarank example: a real learning-to-rank data set, bundled (MIT, see the notice)."""
import gzip
from importlib import resources

import numpy as np
from sklearn.datasets import load_svmlight_file
from sklearn.utils import Bunch

__all__ = ["load_ltr_example"]

N_FEATURES = 300
_SUBSETS = ("train", "test", "all")


def _open(name):
    return gzip.open(resources.files(__package__).joinpath("data", name), "rb")


def _load(part):
    with _open(f"rank.{part}.gz") as f:
        X, y = load_svmlight_file(f, n_features=N_FEATURES)
    with _open(f"rank.{part}.query.gz") as f:
        sizes = np.loadtxt(f, dtype=np.int64, ndmin=1)
    if int(sizes.sum()) != X.shape[0]:  # pragma: no cover - the shipped files are consistent
        raise ValueError(f"rank.{part}: query sizes sum to {sizes.sum()}, the file has {X.shape[0]} rows")
    return X.tocsr(), y, sizes


def load_ltr_example(*, subset="train", return_X_y=False, as_frame=False):
    """Load LightGBM's lambdarank example, a learning-to-rank data set (bundled, MIT licence).

    ============  =====================  =================
    subset        documents / queries    features / grades
    ============  =====================  =================
    ``"train"``   3005 / 201             300 / 0–4
    ``"test"``    768 / 50               300 / 0–4
    ============  =====================  =================

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        ``"all"`` stacks train then test (query ids of the test part follow the training ones).
    return_X_y : bool, default=False
        Return ``(X, y, group)`` instead of a Bunch.
    as_frame : bool, default=False
        ``data`` as a pandas DataFrame (dense; needs pandas), ``target`` and ``group`` as Series.

    Returns
    -------
    data : Bunch
        ``data`` (CSR matrix of shape (n, 300), or a DataFrame), ``target`` (grades, float),
        ``group`` (the query id of each document: consecutive blocks), ``query_sizes``,
        ``feature_names``, ``DESCR``.
    (X, y, group) : tuple
        If ``return_X_y``.

    Examples
    --------
    >>> from sklearn_losses.datasets import load_ltr_example
    >>> X, y, group = load_ltr_example(return_X_y=True)
    >>> X.shape, len(set(group))
    ((3005, 300), 201)
    """
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {_SUBSETS}, got {subset!r}")
    parts = ("train", "test") if subset == "all" else (subset,)
    loaded = [_load(p) for p in parts]
    import scipy.sparse as sp

    X = sp.vstack([d[0] for d in loaded]).tocsr() if len(loaded) > 1 else loaded[0][0]
    y = np.concatenate([d[1] for d in loaded])
    sizes = np.concatenate([d[2] for d in loaded])
    group = np.repeat(np.arange(sizes.shape[0]), sizes)
    names = np.array([f"feature_{j}" for j in range(N_FEATURES)], dtype=object)
    if as_frame:
        import pandas as pd

        X = pd.DataFrame(X.toarray(), columns=names)
        y = pd.Series(y, name="grade")
        group = pd.Series(group, name="query_id")
    if return_X_y:
        return X, y, group
    return Bunch(data=X, target=y, group=group, query_sizes=sizes, feature_names=names,
                 DESCR=load_ltr_example.__doc__)
