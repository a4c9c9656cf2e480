"""Fitted tree ensembles compiled for map prediction: the same probabilities as scikit-learn, faster.

A map asks a forest for millions of cells. scikit-learn walks each tree with a branch per level, and
a mispredicted branch costs more than the comparison. Here every tree is laid out breadth first, so
that a node's two children sit side by side, and a cell moves down by ``child + (x > threshold)``:
no branch. A node is one 64-bit word (threshold, child, feature), so a step is two loads: the node
and the cell's feature. A block of cells walks one tree at a time (the tree and the block stay in
the L1 cache, numba, no GIL held): all cells level by level down to the depth where a quarter of the
training samples have reached a leaf, then only the cells still moving, compacted each level
(leaves point to themselves, so a cell that did not move is at its leaf). The compaction saves the
steps a fixed-depth walk spends at leaves (mean path 11 levels, deepest leaf 20, in the benchmark).

Thresholds are compared as scikit-learn's trees compare them, exactly: in float32 (a float64
threshold ``t`` becomes the largest float32 ``<= t``, which decides every float32 ``x`` the same way),
as order-preserving int32 keys of the float32 bits (-0.0 taken as +0.0). The trees' class fractions
are summed in scikit-learn's order, so the result equals ``predict_proba``, usually to the last bit.

Alternatives measured here (100 trees of depth ~20, 24 features, 262,144 rows, one thread; a
throwaway script, not kept): TL2cgen-generated C from treelite (gcc took 9 minutes for the forest;
1.4x *more* CPU than scikit-learn to predict) and ONNX Runtime over skl2onnx's TreeEnsemble (float32
or float64 thresholds: 1.0x scikit-learn's CPU). Neither helps on forests this deep; neither is used.

:func:`compile_for_maps` accepts a :class:`~sklearn.ensemble.RandomForestClassifier` or
:class:`~sklearn.ensemble.ExtraTreesClassifier`, a (scikit-learn or imbalanced-learn) pipeline ending
in one, and :class:`~geoprospect.models.pu.PUBaggingClassifier` over them; anything else is left to
its own ``predict_proba``. Input rows must be finite (a map sends only fully valid cells).
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
        At most 256 features and 2**24 nodes per tree (what a node word holds).
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
        self.dense_depths_ = np.array([layout[2] for layout in layouts], dtype=np.int64)
        self.nodes_ = np.concatenate([layout[0] for layout in layouts])
        self.value_ = np.concatenate([layout[1] for layout in layouts])

    def predict_positive(self, X) -> np.ndarray:
        """Probability of the positive class per row of ``X`` (n_samples, n_features): float64 (n_samples,)."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has shape {X.shape}, expected (n, {self.n_features_in_})")
        same = self.same_weights_  # then sum and divide once, as scikit-learn does
        total = _walk(X, self.roots_, self.dense_depths_, self.depths_, self.nodes_, self.value_,
                      np.ones(self.n_trees_) if same else self.weights_)
        return total / self.n_trees_ if same else total


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
    if forests[0].n_features_in_ > 256 or max(e.tree_.node_count for f in forests for e in f.estimators_) >= 2**24:
        return None  # more than a node word holds: left to scikit-learn
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
    """One tree as (node words, positive fraction per node, dense depth), breadth first.

    Both children of a node are adjacent (right = left + 1). A node word holds the threshold's int32
    key in its high 32 bits, the left child's index within the tree in the next 24 and the feature in
    the low 8. A leaf is its own child with the largest key, so a step from it stays on it. The dense
    depth is where a quarter of the training samples have reached a leaf: down to it, every cell of a
    block walks; below, only the cells still moving.
    """
    left, right = tree.children_left, tree.children_right
    order = np.empty(tree.node_count, dtype=np.int64)
    first_child = np.empty(tree.node_count, dtype=np.int64)  # new index of a node's left child
    leaf_samples = []  # training samples reaching a leaf, per depth
    order[0], filled, level = 0, 1, np.array([0])
    while level.size:
        internal = level[left[level] != -1]
        leaf_samples.append(tree.weighted_n_node_samples[level[left[level] == -1]].sum())
        children = np.column_stack([left[internal], right[internal]]).ravel()
        first_child[internal] = filled + 2 * np.arange(internal.size)
        order[filled:filled + children.size] = children
        filled += children.size
        level = children
    is_leaf = left[order] == -1
    feature = np.where(is_leaf, 0, tree.feature[order]).astype(np.int64)
    key = _order_key(_float32_floor(tree.threshold[order])).astype(np.int64)
    key[is_leaf] = np.iinfo(np.int32).max
    child = np.where(is_leaf, np.arange(tree.node_count), first_child[order])
    nodes = (key << 32) | (child << 8) | feature
    fractions = tree.value[order, 0, :]
    value = fractions[:, column] / fractions.sum(axis=1)
    dense_depth = int(np.argmax(np.cumsum(leaf_samples) >= 0.25 * sum(leaf_samples)))
    return nodes, value, dense_depth


def _float32_floor(threshold: np.ndarray) -> np.ndarray:
    """The largest float32 <= each float64 threshold: ``x <= t`` and ``x <= floor32(t)`` agree for float32 x."""
    rounded = threshold.astype(np.float32)
    above = rounded.astype(np.float64) > threshold
    rounded[above] = np.nextafter(rounded[above], np.float32(-np.inf))
    return rounded


def _order_key(values: np.ndarray) -> np.ndarray:
    """float32 -> int32 with the same order (``a > b`` iff ``key(a) > key(b)``), -0.0 as +0.0; the kernel's twin."""
    bits = (values.astype(np.float32) + np.float32(0)).view(np.int32)
    return bits ^ ((bits >> 31) & np.int32(0x7FFFFFFF))


BLOCK_ROWS = 256  # rows walked together: their keys (256 x bands x 4 bytes) and a tree stay in the L1 cache


@njit(cache=True, nogil=True, boundscheck=False)
def _walk(X, roots, dense_depths, depths, nodes, value, weights):  # pragma: no cover (compiled)
    n, n_features = X.shape
    out = np.zeros(n)
    node = np.empty(BLOCK_ROWS, dtype=np.int64)
    moving = np.empty(BLOCK_ROWS, dtype=np.int64)
    keys = np.empty((BLOCK_ROWS, n_features), dtype=np.int32)
    for start in range(0, n, BLOCK_ROWS):
        rows = min(n, start + BLOCK_ROWS) - start
        bits = (X[start:start + rows] + np.float32(0)).view(np.int32)
        for i in range(rows):
            for f in range(n_features):
                keys[i, f] = bits[i, f] ^ ((bits[i, f] >> 31) & 0x7FFFFFFF)
        for tree in range(roots.shape[0]):
            root = roots[tree]
            node[:rows] = 0
            for _ in range(dense_depths[tree]):  # every row: no bookkeeping
                for i in range(rows):
                    word = nodes[root + node[i]]
                    node[i] = ((word >> 8) & 0xFFFFFF) + np.int64(np.int64(keys[i, word & 0xFF]) > (word >> 32))
            count = rows
            for i in range(rows):
                moving[i] = i
            for _ in range(depths[tree] - dense_depths[tree]):  # only rows not yet at a leaf
                kept = 0
                for k in range(count):
                    i = moving[k]
                    word = nodes[root + node[i]]
                    step = ((word >> 8) & 0xFFFFFF) + np.int64(np.int64(keys[i, word & 0xFF]) > (word >> 32))
                    moving[kept] = i
                    kept += step != node[i]
                    node[i] = step
                count = kept
                if count == 0:
                    break
            w = weights[tree]
            for i in range(rows):
                out[start + i] += w * value[root + node[i]]
    return out
