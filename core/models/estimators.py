"""What every estimator in core/ shares: one NotFittedError and the fitted check that raises it.

It lives apart so that the relevance models (`core.models.two_tower`) and the child-photo classifiers
(`core.legal.logistic`) raise the same class without either importing the other.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import check_is_fitted


class NotFittedError(SklearnNotFittedError):
    """An estimator was used before ``fit`` (or ``from_state``).

    A subclass of scikit-learn's, so sklearn's checks and callers that catch its error catch ours."""


def check_fitted(estimator: object, attribute: str) -> None:
    """sklearn's check_is_fitted on the attribute that marks `estimator` fitted, raising the
    project's error."""
    try:
        check_is_fitted(estimator, attribute,
                        msg="%(name)s is not fitted yet: call fit() (or from_state()) first")
    except SklearnNotFittedError as exc:
        raise NotFittedError(str(exc)) from exc
