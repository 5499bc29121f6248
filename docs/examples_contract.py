"""User losses that declare their capabilities.

The worked example of the docs page "How a loss talks to a solver"
(docs/contract.rst shows it from its first import on). Neither
class subclasses ``sklearn_losses.Loss``: each has the members of
the loss protocol and a ``declare`` dict, which is all that the
estimators and the solvers read. tests/test_docs.py runs this
file, so what it asserts holds.
"""
import math

import numpy as np

import sklearn_losses as skl
from sklearn_losses import LossRegressor
from sklearn_losses.contract import capabilities
from sklearn_losses.solvers import (compatible_solvers,
                                    select_solver)


# 1. A compiled kernel: declaring it lets SGD use the loss.
@skl.loss_kernel
def cauchy_kernel(y, p, params):
    """One sample's (loss, d loss / d p); params[0] is c."""
    c = params[0]
    r = p - y
    u = r / c
    return 0.5 * c * c * math.log1p(u * u), r / (1.0 + u * u)


class Cauchy:
    """Cauchy (Lorentzian) loss: robust, smooth, not convex."""

    # the loss protocol
    name, task, family = "cauchy", "regression", "error"
    properties = frozenset({"CONT", "DIFF", "L-CONT"})
    # the contract: True means "my member of that name"
    declare = {"kernel": True, "kernel_params": True}
    kernel = cauchy_kernel

    def __init__(self, c=1.0):
        self.c = c

    def kernel_params(self):
        """The kernel's params array (validates c)."""
        if not self.c > 0:
            raise ValueError(f"c must be > 0, got {self.c!r}")
        return np.array([float(self.c)])

    def loss(self, y_true, y_pred):
        u = (np.asarray(y_pred) - np.asarray(y_true)) / self.c
        return 0.5 * self.c ** 2 * np.log1p(u * u)

    def gradient(self, y_true, y_pred):
        r = np.asarray(y_pred) - np.asarray(y_true)
        return r / (1.0 + (r / self.c) ** 2)

    def __call__(self, y_true, y_pred, sample_weight=None):
        per_sample = self.loss(y_true, y_pred)
        return float(np.average(per_sample,
                                weights=sample_weight))

    def get_params(self, deep=True):
        return {"c": self.c}

    def set_params(self, **params):
        for key, value in params.items():
            setattr(self, key, value)
        return self


rng = np.random.RandomState(0)
X = rng.normal(size=(200, 3))
noise = 0.3 * rng.standard_cauchy(size=200)  # heavy tails
y = X @ np.array([1.0, -2.0, 0.5]) + noise

caps = capabilities(Cauchy())
print(sorted(caps.provides))
# ['kernel', 'kernel_params', 'value_and_gradient']
print(compatible_solvers(caps, "l2"))
# ['derivative_free', 'lbfgs', 'sgd', 'subgradient']
print(select_solver(caps, "l2", 200))  # lbfgs: differentiable

auto = LossRegressor(loss=Cauchy(c=1.0)).fit(X, y)
# SGD stops short of the optimum (so "auto" never picks it for
# speed): ask for a precision it can certify, with adaptive steps
sgd = LossRegressor(loss=Cauchy(c=1.0), solver="sgd", tol=0.05,
                    solver_options={"learning_rate": "adaptive"},
                    random_state=0).fit(X, y)
print(auto.solver_, sgd.solver_)  # lbfgs sgd
assert (auto.solver_, sgd.solver_) == ("lbfgs", "sgd")
assert np.allclose(auto.coef_, sgd.coef_, atol=0.05)  # same fit
assert hasattr(auto, "partial_fit")  # given by the kernel


class CauchyNoKernel(Cauchy):
    """The same loss without its kernel: SGD cannot run on it."""

    # declarations merge along the bases: switch the kernel off
    declare = {"kernel": False, "kernel_params": False}


try:
    LossRegressor(loss=CauchyNoKernel(), solver="sgd").fit(X, y)
except ValueError as exc:
    message = str(exc)
else:
    raise AssertionError("solver='sgd' should refuse this loss")
print(message)
# solver='sgd' cannot minimise 'cauchy' here: it needs a loss that
# provides 'kernel'. Use solver='auto' or one of [...]
assert "provides 'kernel'" in message
no_kernel = LossRegressor(loss=CauchyNoKernel())
assert not hasattr(no_kernel, "partial_fit")


# 2. Declaring quadratic lets solver="auto" use the closed form.
class Squared:
    """(y - p)², duck-typed, without saying so."""

    name, task, family = "my_squared", "regression", "error"
    properties = frozenset({"CONT", "DIFF", "CONVEX", "S-CONV"})

    def loss(self, y_true, y_pred):
        return (np.asarray(y_pred) - np.asarray(y_true)) ** 2

    def gradient(self, y_true, y_pred):
        return 2.0 * (np.asarray(y_pred) - np.asarray(y_true))

    def __call__(self, y_true, y_pred, sample_weight=None):
        per_sample = self.loss(y_true, y_pred)
        return float(np.average(per_sample,
                                weights=sample_weight))

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self


class DeclaredSquared(Squared):
    """The same loss, declaring that it is exactly (y - p)²."""

    declare = {"quadratic": True}


print(select_solver(capabilities(Squared()), "l2", 200))  # lbfgs
print(select_solver(capabilities(DeclaredSquared()), "l2", 200))
# closed_form

plain = LossRegressor(loss=Squared()).fit(X, y)
declared = LossRegressor(loss=DeclaredSquared()).fit(X, y)
print(plain.solver_, declared.solver_)  # lbfgs closed_form
assert plain.solver_ == "lbfgs"
assert declared.solver_ == "closed_form"
# one objective, solved two ways
assert np.allclose(plain.coef_, declared.coef_, atol=1e-4)
