"""Fitted tree ensembles compiled for map prediction: the same probabilities as scikit-learn, faster.

A map asks a forest for millions of cells. scikit-learn walks each tree with a branch per level, and
a mispredicted branch costs more than the comparison. Here every tree is laid out breadth first, so
that a node's two children sit side by side, and a cell moves down by ``child + (x > threshold)``:
no branch. Leaves point to themselves, so a block of cells walks a tree for exactly its depth,
level by level, which keeps the node arrays in cache for the whole block (numba, no GIL held).

The result equals scikit-learn's ``predict_proba`` to the last bit but for the order of a float sum:
thresholds are compared in float32, as scikit-learn's trees do (a float64 threshold ``t`` becomes the
largest float32 ``<= t``, which decides every float32 ``x`` the same way), and the trees' class
fractions are averaged in the same order.

:func:`compile_for_maps` accepts a :class:`~sklearn.ensemble.RandomForestClassifier` or
:class:`~sklearn.ensemble.ExtraTreesClassifier`, a (scikit-learn or imbalanced-learn) pipeline ending
in one, and :class:`~geoprospect.models.pu.PUBaggingClassifier` over them; anything else is left to
its own ``predict_proba``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.pipeline import Pipeline as SkPipeline

from geoprospect.models.pipeline import prediction_steps
from geoprospect.models.pu import PUBaggingClassifier

_FORESTS = (RandomForestClassifier, ExtraTreesClassifier)


class CompiledForest:
    """Probability of one class from one or more fitted forests, averaged over all their trees.

    Parameters
    ----------
    forests : list of fitted RandomForestClassifier or ExtraTreesClassifier
        Each forest weighs equally (as PU bagging's rounds do), every tree within a forest too.
    columns : list of int
        Per forest, the column of ``classes_`` whose probability is returned.
    """

    def __init__(self, forests, columns):
        trees, weights = [], []
        for forest, column in zip(forests, columns, strict=True):
            trees += [(estimator.tree_, column) for estimator in forest.estimators_]
            weights += [1.0 / (len(forest.estimators_) * len(forests))] * len(forest.estimators_)
        self.n_features_in_ = forests[0].n_features_in_
        self.n_trees_ = len(trees)
        self.same_weights_ = len(set(weights)) == 1
        self.weights_ = np.asarray(weights)
        layouts = [_breadth_first(tree, column) for tree, column in trees]
        sizes = np.array([len(layout[0]) for layout in layouts])
        self.roots_ = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.depths_ = np.array([tree.max_depth for tree, _ in trees], dtype=np.int64)
        self.feature_ = np.concatenate([layout[0] for layout in layouts])
        self.threshold_ = np.concatenate([layout[1] for layout in layouts])
        self.child_ = np.concatenate([layout[2] + root for layout, root in zip(layouts, self.roots_)])
        self.value_ = np.concatenate([layout[3] for layout in layouts])

    def predict_positive(self, X) -> np.ndarray:
        """Probability of the positive class per row of ``X`` (n_samples, n_features): float64 (n_samples,)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has shape {X.shape}, expected (n, {self.n_features_in_})")
        if self.same_weights_:  # sum then divide once, as scikit-learn does
            total = _walk(X, self.roots_, self.depths_, self.feature_, self.threshold_, self.child_, self.value_,
                          np.ones(self.n_trees_))
            return total / self.n_trees_
        return _walk(X, self.roots_, self.depths_, self.feature_, self.threshold_, self.child_, self.value_,
                     self.weights_)


def compile_for_maps(model, positive_class=1, feature_names=None):
    """A function ``X -> positive-class probability`` equal to ``model``'s, compiled, or None if it cannot be.

    ``X`` is what ``model.predict_proba`` takes (rows of features, finite values: a map sends only
    fully valid cells). Pipeline steps before the forest run as they would in ``predict_proba``
    (resamplers are skipped at prediction, as imbalanced-learn does), on a DataFrame with
    ``feature_names`` when the model was fitted on one.
    """
    final = model.steps[-1][1] if isinstance(model, SkPipeline) else model  # imblearn's Pipeline subclasses scikit-learn's
    if isinstance(final, _FORESTS) and positive_class in list(final.classes_):
        forests, columns = [final], [list(final.classes_).index(positive_class)]
    elif (isinstance(final, PUBaggingClassifier) and list(final.classes_)[1:] == [positive_class]
          and all(isinstance(e, _FORESTS) for e in final.estimators_)):
        forests = list(final.estimators_)
        columns = [1] * len(forests)  # each round scores its own second class, as PU bagging does
    else:
        return None
    if any(getattr(forest, "n_outputs_", 1) != 1 or len(forest.classes_) != 2 for forest in forests):
        return None
    transform = prediction_steps(model)
    return _Scorer(transform, CompiledForest(forests, columns), feature_names if transform is not None else None)


class _Scorer:
    """The pipeline's prediction steps, then the compiled forest; picklable for dask workers."""

    def __init__(self, transform, compiled: CompiledForest, feature_names=None):
        self.transform = transform
        self.compiled = compiled
        self.feature_names = feature_names

    def __call__(self, X) -> np.ndarray:
        if self.feature_names is not None:
            X = pd.DataFrame(X, columns=self.feature_names, copy=False)
        if self.transform is not None:
            X = self.transform.transform(X)
        return self.compiled.predict_positive(np.asarray(X))


def _breadth_first(tree, column: int):
    """One tree as (feature, float32 threshold, left-child index, positive fraction), breadth first.

    Both children of a node are adjacent (right = left + 1); a leaf is its own child with feature 0
    and threshold +inf, so walking past it stays on it.
    """
    left, right = tree.children_left, tree.children_right
    order = np.empty(tree.node_count, dtype=np.int64)
    first_child = np.empty(tree.node_count, dtype=np.int64)  # new index of a node's left child
    order[0], filled, level = 0, 1, np.array([0])
    while level.size:
        internal = level[left[level] != -1]
        children = np.column_stack([left[internal], right[internal]]).ravel()
        first_child[internal] = filled + 2 * np.arange(internal.size)
        order[filled:filled + children.size] = children
        filled += children.size
        level = children
    is_leaf = left[order] == -1
    feature = np.where(is_leaf, 0, tree.feature[order]).astype(np.int64)
    threshold = _float32_floor(tree.threshold[order])
    threshold[is_leaf] = np.inf
    child = np.where(is_leaf, np.arange(tree.node_count), first_child[order])
    fractions = tree.value[order, 0, :]
    value = fractions[:, column] / fractions.sum(axis=1)
    return feature, threshold, child.astype(np.int64), value


def _float32_floor(threshold: np.ndarray) -> np.ndarray:
    """The largest float32 <= each float64 threshold: ``x <= t`` and ``x <= floor32(t)`` agree for float32 x."""
    rounded = threshold.astype(np.float32)
    above = rounded.astype(np.float64) > threshold
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return rounded


BLOCK_ROWS = 256  # rows walked together: their features (256 x bands x 4 bytes) stay in the L1/L2 cache


@njit(cache=True, nogil=True, boundscheck=False)
def _walk(X, roots, depths, feature, threshold, child, value, weights):  # pragma: no cover (compiled)
    n, n_features = X.shape
    flat = X.ravel()
    out = np.zeros(n)
    node = np.empty(BLOCK_ROWS, dtype=np.int64)
    for start in range(0, n, BLOCK_ROWS):
        stop = min(n, start + BLOCK_ROWS)
        for tree in range(roots.shape[0]):
            for i in range(stop - start):
                node[i] = roots[tree]
            for _ in range(depths[tree]):
                for i in range(stop - start):
                    j = node[i]
                    node[i] = child[j] + np.int64(flat[(start + i) * n_features + feature[j]] > threshold[j])
            w = weights[tree]
            for i in range(stop - start):
                out[start + i] += w * value[node[i]]
    return out
