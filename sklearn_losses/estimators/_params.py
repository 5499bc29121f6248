"""Constructor parameters, declared once: default and constraint of each, by group.

Every estimator's ``__init__`` is generated from the groups it uses
(:func:`declare_params`), with a real signature (``inspect.signature``,
``get_params``, ``clone`` and IDEs see explicit keyword arguments) whose
body only stores the arguments, as scikit-learn requires. Validation uses
scikit-learn's own parameter constraints (``_parameter_constraints``), so an
invalid value raises ``InvalidParameterError`` (a ``ValueError``) naming the
parameter and what it accepts, before any data is touched.
"""
from numbers import Integral, Real

from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

__all__ = ["OBJECTIVE", "MODEL", "SOLVER", "SGD", "LOSS_CONSTRAINT", "declare_params"]

#: a catalogue key or any object with the loss protocol's methods (``API.md`` §1)
LOSS_CONSTRAINT = [str, HasMethods(["loss", "gradient", "get_params", "set_params"])]


def _group(**spec):
    return dict(spec)


_bool = ["boolean"]

#: the objective: data term and penalty
OBJECTIVE = _group(
    penalty=("l2", [StrOptions({"l2", "l1", "elasticnet"}), None, HasMethods(["get_params", "gradient"])]),
    alpha=(1e-4, [Interval(Real, 0, None, closed="left")]),
    l1_ratio=(0.15, [Interval(Real, 0, 1, closed="both")]),
    fit_intercept=(True, _bool),
)

#: the model: linear, or a kernel feature map
MODEL = _group(
    model=("linear", [StrOptions({"linear", "kernel"})]),
    kernel=("rbf", [str, callable]),
    gamma=(None, [Interval(Real, 0, None, closed="neither"), None]),
    degree=(3, [Interval(Real, 0, None, closed="left")]),
    coef0=(1, [Real]),
    # None: chosen from the effective dimension at alpha (models._kernel.choose_n_components)
    n_components=(None, [Interval(Integral, 1, None, closed="left"), None]),
    kernel_approximation=("auto", [StrOptions({"auto", "exact", "nystroem", "rff"})]),
)

#: the solver and what every solver takes
SOLVER = _group(
    solver=("auto", [str, HasMethods(["solve", "unmet"])]),
    max_iter=(1000, [Interval(Integral, 1, None, closed="left")]),
    tol=(1e-4, [Interval(Real, 0, None, closed="left"), None]),
    warm_start=(False, _bool),
    random_state=(None, ["random_state"]),
    verbose=(0, ["verbose"]),
    solver_options=(None, [dict, None]),
)

#: the stochastic solver's options (as SGDRegressor / SGDClassifier)
SGD = _group(
    learning_rate=("invscaling", [StrOptions({"constant", "optimal", "invscaling", "adaptive", "saga"})]),
    eta0=(0.01, [Interval(Real, 0, None, closed="neither")]),
    power_t=(0.25, [Interval(Real, None, None, closed="neither")]),
    average=(False, [Interval(Integral, 0, None, closed="left"), "boolean"]),
    shuffle=(True, _bool),
    early_stopping=(False, _bool),
    validation_fraction=(0.1, [Interval(Real, 0, 1, closed="neither")]),
    n_iter_no_change=(5, [Interval(Integral, 1, None, closed="left")]),
)


def declare_params(cls, first, *groups, **overrides):
    """Give ``cls`` an ``__init__`` and ``_parameter_constraints`` from parameter groups.

    Parameters
    ----------
    cls : type
    first : tuple ``(name, default, constraints)``
        The positional parameter (``loss``).
    *groups : dict
        ``{name: (default, constraints)}``, keyword-only, in order.
    **overrides : tuple or default
        Per-estimator defaults (a value) or ``(default, constraints)`` for
        parameters of the estimator's own.
    """
    spec = {}
    for group in groups:
        spec.update(group)
    for name, value in overrides.items():
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], list):
            spec[name] = value
        else:
            spec[name] = (value, spec[name][1])
    fname, fdefault, fconstraints = first
    defaults = {fname: fdefault, **{k: v[0] for k, v in spec.items()}}
    args = [f"{fname}=_d[{fname!r}]", "*"] + [f"{k}=_d[{k!r}]" for k in spec]
    body = "\n".join(f"    self.{k} = {k}" for k in defaults)
    src = f"def __init__(self, {', '.join(args)}):\n{body}\n"
    namespace = {}
    exec(compile(src, f"<{cls.__name__}.__init__>", "exec"), {"_d": defaults}, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__name__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = f"Store the parameters (see :class:`{cls.__name__}`)."
    cls.__init__ = init
    cls._parameter_constraints = {fname: fconstraints, **{k: v[1] for k, v in spec.items()}}
    return cls
