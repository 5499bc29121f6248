"""scikit-learn's estimator checks over a spread of losses, solvers and both models."""
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_losses import LossRegressor

# SGD's random visiting order cannot pass the strict weight-equivalence checks (the exact solvers,
# the active-set polish of MAE and the Nystroem model with n_components >= n all do)
_APPROX = {
    "check_sample_weight_equivalence_on_dense_data": "approximate (iterative) solver: equal only to a tolerance",
    "check_sample_weight_equivalence_on_sparse_data": "approximate (iterative) solver: equal only to a tolerance",
}

# check_regressor_multioutput fits make_regression's targets, negative ones included, without
# the positive_only target tag that the other checks honour: a deviance on y >= 0 refuses them
_DOMAIN = {
    "check_regressor_multioutput": "the check's targets are negative, outside the deviance's domain (y >= 0 / y > 0)",
}

ESTIMATORS = [
    LossRegressor(),  # closed form
    LossRegressor("huber"),  # newton
    LossRegressor("squared_epsilon_insensitive"),  # newton on its generalized Hessian (exact)
    LossRegressor("mean_absolute_error"),  # dual_cd + active-set polish: the exact optimum
    LossRegressor("quantile", penalty=None),  # linprog: the exact LP vertex
    LossRegressor("huber", solver="sgd", random_state=0),
    LossRegressor("log_cosh", model="kernel", kernel_approximation="nystroem", n_components=30,
                  random_state=0),
    LossRegressor(model="kernel", kernel="poly", degree=2, solver="closed_form"),
    LossRegressor("root_mean_squared_error"),  # lbfgs (an aggregate loss)
    LossRegressor("poisson"),  # newton; predicts the mean exp(f(x)); positive_only target tag
    LossRegressor("gamma"),
    LossRegressor("tweedie"),  # newton, power 1.5
]


def _expected_failures(est):
    if est.solver == "sgd":
        return _APPROX
    if est.__sklearn_tags__().target_tags.positive_only:
        return _DOMAIN
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)
