"""The linear model: the identity feature map."""


class LinearModel:
    """``f(x) = x·w + b``: the features are the inputs (dense or CSR) themselves."""

    sparse_output = True

    def fit(self, X):
        """Nothing to learn; returns self."""
        return self

    def transform(self, X):
        """Return ``X`` unchanged."""
        return X
