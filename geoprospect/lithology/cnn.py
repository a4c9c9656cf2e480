"""Estimators on image chips: scaling, PCA channels, the centre pixel, and a small CNN (torch).

Every estimator here takes chips ``X`` of shape (n, channels, size, size) (from
:mod:`geoprospect.lithology.chips`) and follows the scikit-learn contract, so that a
:class:`~sklearn.pipeline.Pipeline` of them is fitted on training chips only. The pipelines of
Shirmard et al. (2022, *Remote Sensing* 14(4):819) are built from them in
:mod:`geoprospect.lithology.experiment`: SVM and MLP are pixel classifiers (they see the centre pixel,
through :class:`CentrePixel`), the CNN sees the whole chip.

A fitted :class:`ChipCNN` stores its network, when pickled or saved with skops, as a plain numpy
state dict (as :class:`geoprospect.models.autoencoder.TorchStateMixin` does for MLPs): a saved model
holds no torch object.
"""

from __future__ import annotations

import copy
import itertools
import logging
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from torch import nn

from geoprospect.errors import InputError
from geoprospect.nn import one_torch_thread, torch_seed

log = logging.getLogger(__name__)

PREDICT_BATCH = 4096  # chips per forward pass at prediction: a few MB of activations


def check_chips(X, source: str, n_channels: int | None = None, finite: bool = False) -> np.ndarray:
    """``X`` as float32 chips (n, channels, size, size) with an odd ``size``; else an :class:`InputError`.

    ``n_channels``: the number the estimator was fitted on. ``finite``: refuse NaN and infinity.
    """
    X = np.asarray(X)
    if X.ndim != 4 or X.shape[2] != X.shape[3] or X.shape[2] % 2 == 0 or not np.issubdtype(X.dtype, np.number):
        raise InputError(source, f"the input has shape {X.shape} and type {X.dtype}, not numeric chips "
                         "(n, channels, size, size) of odd size", "build chips with geoprospect.lithology.chips")
    if n_channels is not None and X.shape[1] != n_channels:
        raise InputError(source, f"the chips have {X.shape[1]} channels, the model was fitted on {n_channels}",
                         "pass chips of the same bands (and indices) as at training")
    X = X.astype(np.float32, copy=False)
    if finite and not np.isfinite(X).all():
        raise InputError(source, "the chips hold NaN or infinite values", "put a ChannelScaler before this step")
    return X


def _check_rows(X: np.ndarray, source: str) -> None:
    if len(X) == 0:
        raise InputError(source, "no training chip", "sample training pixels from the labelled area first")


class ChannelScaler(TransformerMixin, BaseEstimator):
    """Standardise each channel of chips by its training mean and standard deviation; NaN -> 0.

    Fitted on every pixel of the training chips, ignoring NaN. After scaling, NaN (no data) becomes
    0: the training mean of its channel, the least informative value (:mod:`geoprospect.lithology.chips`).

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_channels,), float64
        Per-channel mean and standard deviation (1 where a channel is constant), in input units.
    n_channels_in_ : int
    """

    def fit(self, X, y=None):
        """Fit on training chips ``X`` (n, channels, size, size); ``y`` is ignored."""
        X = check_chips(X, "lithology.ChannelScaler")
        _check_rows(X, "lithology.ChannelScaler")
        values = X.transpose(1, 0, 2, 3).reshape(X.shape[1], -1)
        empty = ~np.isfinite(values).any(axis=1)
        if empty.any():
            raise InputError("lithology.ChannelScaler", f"channel(s) {np.flatnonzero(empty).tolist()} have no value in "
                             "the training chips", "drop those bands or draw training pixels where they have data")
        self.mean_ = np.nanmean(values, axis=1, dtype=np.float64)
        scale = np.nanstd(values, axis=1, dtype=np.float64)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        self.n_channels_in_ = X.shape[1]
        return self

    def transform(self, X):
        """Scaled chips, same shape, float32, no NaN."""
        check_is_fitted(self)
        X = check_chips(X, "lithology.ChannelScaler", self.n_channels_in_)
        shape = (1, -1, 1, 1)
        scaled = X - self.mean_.astype(np.float32).reshape(shape)
        scaled *= (1 / self.scale_).astype(np.float32).reshape(shape)
        return np.nan_to_num(scaled, copy=False, nan=0.0)


class ChannelPCA(TransformerMixin, BaseEstimator):
    """Append principal components of each pixel's channels as extra channels.

    The PCA (whitened: unit-variance components, on the scale of standardised bands) is fitted on the
    centre pixels of the training chips, i.e. on the training pixels themselves, then applied to
    every pixel of a chip. PCA of the bands is the dimensionality reduction of Shirmard et al. (2022).

    Parameters
    ----------
    n_components : int, default=3
        Components appended; at most the number of channels.

    Attributes
    ----------
    pca_ : sklearn.decomposition.PCA
    n_channels_in_ : int
    """

    def __init__(self, n_components=3):
        self.n_components = n_components

    def fit(self, X, y=None):
        """Fit on scaled training chips ``X`` (n, channels, size, size), NaN-free; ``y`` is ignored."""
        X = check_chips(X, "lithology.ChannelPCA", finite=True)
        _check_rows(X, "lithology.ChannelPCA")
        if not isinstance(self.n_components, Integral) or not 1 <= self.n_components <= min(X.shape[1], len(X)):
            raise InputError("lithology.pca_components", f"{self.n_components!r} components of {X.shape[1]} channels "
                             f"and {len(X)} pixels", "use between 1 and the number of bands")
        half = X.shape[2] // 2
        self.pca_ = PCA(self.n_components, whiten=True, svd_solver="full").fit(X[:, :, half, half])
        self.n_channels_in_ = X.shape[1]
        return self

    def transform(self, X):
        """Chips with the components appended, shape (n, channels + n_components, size, size), float32."""
        check_is_fitted(self)
        X = check_chips(X, "lithology.ChannelPCA", self.n_channels_in_, finite=True)
        n, channels, size, _ = X.shape
        pixels = X.transpose(0, 2, 3, 1).reshape(-1, channels)
        components = self.pca_.transform(pixels).astype(np.float32).reshape(n, size, size, -1).transpose(0, 3, 1, 2)
        return np.concatenate([X, components], axis=1)


class CentrePixel(TransformerMixin, BaseEstimator):
    """The centre pixel of each chip, (n, channels, size, size) -> (n, channels): how pixel classifiers see chips.

    Attributes
    ----------
    n_channels_in_ : int
    """

    def fit(self, X, y=None):
        """Record the number of channels of ``X``; ``y`` is ignored."""
        self.n_channels_in_ = check_chips(X, "lithology.CentrePixel").shape[1]
        return self

    def transform(self, X):
        """Centre pixels, shape (n, channels), float32."""
        check_is_fitted(self)
        X = check_chips(X, "lithology.CentrePixel", self.n_channels_in_)
        half = X.shape[2] // 2
        return np.ascontiguousarray(X[:, :, half, half])


class ChipNet(nn.Module):
    """3x3 convolutions (batch norm, ReLU), then the centre pixel's features, their chip mean and the
    centre pixel's own inputs -> dropout -> linear.

    The label belongs to the centre pixel: its own features (and its inputs, passed straight to the
    head, so that the network starts from what a pixel classifier sees) keep unit boundaries sharp,
    while the global average over the chip summarises the neighbourhood (texture, context). Works for
    any odd chip size, 1 included.

    Parameters
    ----------
    n_channels : int
    widths : sequence of int
        Output channels of each convolution.
    n_classes : int
    dropout : float
        Dropout before the linear head (training only).
    """

    def __init__(self, n_channels: int, widths, n_classes: int, dropout: float = 0.0):
        super().__init__()
        self.config = {"n_channels": int(n_channels), "widths": [int(w) for w in widths], "n_classes": int(n_classes),
                       "dropout": float(dropout)}
        layers: list[nn.Module] = []
        for n_in, n_out in itertools.pairwise((n_channels, *widths)):
            layers += [nn.Conv2d(n_in, n_out, kernel_size=3, padding=1), nn.BatchNorm2d(n_out), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * widths[-1] + n_channels, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits, (n, n_classes), of chips (n, n_channels, size, size)."""
        features = self.features(x)
        half = x.shape[-1] // 2
        return self.head(torch.cat([features[:, :, half, half], features.mean(dim=(2, 3)), x[:, :, half, half]], dim=1))


def _net_state(net: ChipNet) -> dict:
    return {**net.config, "tensors": {name: value.detach().cpu().numpy().copy() for name, value in net.state_dict().items()}}


def _net_from_state(state: dict) -> ChipNet:
    net = ChipNet(state["n_channels"], state["widths"], state["n_classes"], state["dropout"])
    net.load_state_dict({name: torch.from_numpy(np.asarray(value)) for name, value in state["tensors"].items()})
    return net.eval()


def _positive_int(value, name: str) -> None:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise InputError(f"lithology.ChipCNN.{name}", f"{name} is {value!r}", "use a positive integer")


def validation_split(y, fraction: float, groups=None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation row indices for early stopping: about ``fraction`` of the rows held out.

    With ``groups`` (the spatial block of each row) and at least ``round(1 / fraction)`` of them, whole
    groups are held out, stratified by class (the first fold of scikit-learn's
    :class:`~sklearn.model_selection.StratifiedGroupKFold`): a random share of pixels would validate on
    the training chips' neighbours, and stop training too late. Otherwise ``fraction`` of each class
    (floored) is drawn at random.

    Raises
    ------
    InputError
        No row, or every row, would be held out.
    """
    y = np.asarray(y)
    rows = np.arange(y.size)
    n_splits = max(2, round(1 / fraction))
    if groups is not None and np.unique(groups).size >= n_splits:
        with warnings.catch_warnings():  # a class in fewer groups than splits: it may be absent from validation
            warnings.simplefilter("ignore", UserWarning)
            splitter = StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed % (2**31 - 1))
            _, held = next(splitter.split(rows, y, groups))
    else:
        if groups is not None:
            log.warning("ChipCNN: %d blocks, too few for a %.0f %% validation share by block: random chips held out",
                        np.unique(groups).size, 100 * fraction)
        rng = np.random.default_rng(seed)
        held = np.concatenate([rng.permutation(rows[y == k])[:int(fraction * np.sum(y == k))] for k in np.unique(y)])
    if held.size == 0 or held.size == rows.size:
        raise InputError("lithology.ChipCNN.validation_fraction", f"{held.size} of {rows.size} chips held out",
                         "use more training chips or another validation_fraction")
    return np.setdiff1d(rows, held), np.sort(held)


def _dihedral(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One of the 8 rotations/reflections of a batch of square chips, drawn at random: the centre pixel stays
    the centre, and a unit's label does not depend on the scene's orientation."""
    k, flip = torch.randint(0, 4, (2,), generator=generator).tolist()
    x = torch.rot90(x, k, dims=(2, 3)) if k else x
    return x.flip(3) if flip % 2 else x


class ChipCNN(ClassifierMixin, BaseEstimator):
    """A small convolutional network classifying the centre pixel of each chip (torch, CPU).

    :class:`ChipNet` trained with AdamW on the cross-entropy, in shuffled mini-batches, with one torch
    thread. The CNN of Shirmard et al. (2022) in a small form: chips of a few pixels need no deep net.
    Inputs must be scaled and NaN-free (put a :class:`ChannelScaler` before it).

    Training follows the usual recipe for small labelled sets: each batch is randomly rotated by a
    multiple of 90 degrees and flipped (``augment``), classes are weighted by their inverse frequency
    (``class_weight``), and with a validation share the learning rate is halved when the validation
    loss stalls (:class:`torch.optim.lr_scheduler.ReduceLROnPlateau`) and training stops early.

    Parameters
    ----------
    channels : tuple of int, default=(32, 32)
        Output channels of the 3x3 convolutions.
    epochs : int, default=100
        Most passes over the training chips.
    batch_size : int, default=64
    learning_rate : float, default=2e-3
        Initial learning rate.
    weight_decay : float, default=1e-4
        AdamW's decoupled weight decay.
    dropout : float, default=0.2
        Dropout before the linear head.
    class_weight : {"balanced"} or None, default="balanced"
        ``"balanced"``: the loss of each class weighted by ``n / (n_classes * n_class)`` of the training
        chips, so that a rare unit is not sacrificed to the common ones.
    augment : bool, default=True
        Random rotations by 90 degrees and flips of each training batch.
    validation_fraction : float or None, default=None
        Share of the chips held out for early stopping: training stops after ``n_iter_no_change`` epochs
        without a lower validation loss, and keeps the best epoch's weights. With ``groups`` at fit,
        whole groups (spatial blocks) are held out, stratified by class (scikit-learn's
        :class:`~sklearn.model_selection.StratifiedGroupKFold`): a random share of pixels would validate
        on the training chips' neighbours and stop too late. ``None``: no early stopping, all chips train.
    n_iter_no_change : int, default=10
    random_state : int, RandomState or None
        Seeds the initial weights, the validation draw, the batch order and the augmentation: a fixed
        int gives identical models.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    net_ : ChipNet
        The trained network (eval mode).
    loss_curve_ : ndarray of shape (n_epochs_,)
        Mean training cross-entropy (nats, class-weighted) per epoch.
    validation_loss_curve_ : ndarray of shape (n_epochs_,) or None
        Mean validation cross-entropy (unweighted) per epoch, with early stopping.
    best_epoch_ : int
        The epoch (1-based) whose weights are kept: the lowest validation loss, else the last.
    n_epochs_ : int
        Epochs run.
    n_channels_in_, chip_size_ : int
    """

    def __init__(self, channels=(32, 32), epochs=100, batch_size=64, learning_rate=2e-3, weight_decay=1e-4, dropout=0.2,
                 class_weight="balanced", augment=True, validation_fraction=None, n_iter_no_change=10, random_state=None):
        self.channels = channels
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.class_weight = class_weight
        self.augment = augment
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state

    def _check_params(self) -> None:
        for name in ("epochs", "batch_size", "n_iter_no_change"):
            _positive_int(getattr(self, name), name)
        if len(tuple(self.channels)) == 0:
            raise InputError("lithology.ChipCNN.channels", "no convolution layer", "give at least one width, e.g. (32, 32)")
        for width in self.channels:
            _positive_int(width, "channels")
        if not isinstance(self.learning_rate, Real) or self.learning_rate <= 0:
            raise InputError("lithology.ChipCNN.learning_rate", f"learning_rate is {self.learning_rate!r}", "use a positive number")
        if not isinstance(self.weight_decay, Real) or self.weight_decay < 0:
            raise InputError("lithology.ChipCNN.weight_decay", f"weight_decay is {self.weight_decay!r}", "use 0 or a positive number")
        if not isinstance(self.dropout, Real) or not 0 <= self.dropout < 1:
            raise InputError("lithology.ChipCNN.dropout", f"dropout is {self.dropout!r}", "use a number in [0, 1)")
        if self.class_weight not in (None, "balanced"):
            raise InputError("lithology.ChipCNN.class_weight", f"class_weight is {self.class_weight!r}", "use 'balanced' or null")
        if self.validation_fraction is not None and not (isinstance(self.validation_fraction, Real)
                                                         and 0 < self.validation_fraction < 1):
            raise InputError("lithology.ChipCNN.validation_fraction", f"validation_fraction is {self.validation_fraction!r}",
                             "use a number between 0 and 1, or None for no early stopping")

    def fit(self, X, y, groups=None):
        """Train on scaled chips ``X`` (n, channels, size, size) and their centre pixels' classes ``y`` (n,).

        ``groups`` (n,): the spatial block of each chip; the early-stopping validation set is then made of
        whole blocks.
        """
        self._check_params()
        X = check_chips(X, "lithology.ChipCNN", finite=True)
        _check_rows(X, "lithology.ChipCNN")
        y = np.asarray(y)
        if y.shape != (len(X),):
            raise InputError("lithology.ChipCNN", f"{y.shape} labels for {len(X)} chips", "pass one class per chip")
        if groups is not None and np.shape(groups) != (len(X),):
            raise InputError("lithology.ChipCNN", f"{np.shape(groups)} groups for {len(X)} chips", "pass one block id per chip")
        check_classification_targets(y)
        self.classes_, target = np.unique(y, return_inverse=True)
        if self.classes_.size < 2:
            raise InputError("lithology.ChipCNN", "the training chips hold one class", "sample pixels of two classes or more")

        seed = torch_seed(self.random_state)
        if self.validation_fraction is None:
            train, valid = torch.arange(target.size), None
        else:
            train, valid = (torch.from_numpy(rows) for rows in validation_split(target, self.validation_fraction, groups, seed))
        with torch.random.fork_rng(devices=[]):  # initial weights from the seed only; torch's global RNG untouched
            torch.manual_seed(seed)
            net = ChipNet(X.shape[1], self.channels, self.classes_.size, self.dropout)
        order = torch.Generator().manual_seed(seed)
        data, labels = torch.from_numpy(np.ascontiguousarray(X)), torch.from_numpy(target.astype(np.int64))
        weight = None
        if self.class_weight == "balanced":
            counts = np.bincount(target[train.numpy()], minlength=self.classes_.size)
            weight = torch.from_numpy(np.where(counts > 0, counts.sum() / (self.classes_.size * np.maximum(counts, 1)), 0.0)
                                      .astype(np.float32))
        optimiser = torch.optim.AdamW(net.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
        schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(optimiser, factor=0.5, patience=max(1, self.n_iter_no_change // 3))
        losses, valid_losses = [], []
        best_loss, best_state, stale = np.inf, None, 0
        with one_torch_thread(), torch.random.fork_rng(devices=[]):  # dropout draws from the seed, not the global RNG
            torch.manual_seed(seed)
            for _ in range(self.epochs):
                net.train()
                total = 0.0
                for rows in train[torch.randperm(len(train), generator=order)].split(self.batch_size):
                    if len(rows) < 2:  # batch norm needs two chips
                        continue
                    batch = _dihedral(data[rows], order) if self.augment else data[rows]
                    loss = nn.functional.cross_entropy(net(batch), labels[rows], weight=weight)
                    optimiser.zero_grad()
                    loss.backward()
                    optimiser.step()
                    total += loss.item() * len(rows)
                losses.append(total / len(train))
                if valid is None:
                    schedule.step(losses[-1])
                    continue
                net.eval()
                with torch.no_grad():
                    valid_losses.append(nn.functional.cross_entropy(net(data[valid]), labels[valid]).item())
                schedule.step(valid_losses[-1])
                if valid_losses[-1] < best_loss:
                    best_loss, best_state, stale = valid_losses[-1], copy.deepcopy(net.state_dict()), 0
                    self.best_epoch_ = len(losses)
                else:
                    stale += 1
                    if stale >= self.n_iter_no_change:
                        break
        if best_state is not None:
            net.load_state_dict(best_state)
        else:
            self.best_epoch_ = len(losses)
        self.net_ = net.eval()
        self.loss_curve_ = np.asarray(losses)
        self.validation_loss_curve_ = np.asarray(valid_losses) if valid is not None else None
        self.n_epochs_ = len(losses)
        self.n_channels_in_, self.chip_size_ = X.shape[1], X.shape[2]
        return self

    def predict_proba(self, X):
        """Class probabilities (softmax), shape (n, n_classes), float64, columns ordered as ``classes_``."""
        check_is_fitted(self)
        X = check_chips(X, "lithology.ChipCNN", self.n_channels_in_, finite=True)
        if X.shape[2] != self.chip_size_:
            raise InputError("lithology.chip_size", f"chips of {X.shape[2]} pixels, the CNN was trained on {self.chip_size_}",
                             "classify with the chip size the model was trained with")
        out = np.empty((len(X), self.classes_.size))
        with torch.no_grad():
            for start in range(0, len(X), PREDICT_BATCH):
                batch = torch.from_numpy(np.ascontiguousarray(X[start:start + PREDICT_BATCH]))
                out[start:start + PREDICT_BATCH] = torch.softmax(self.net_(batch), dim=1).numpy()
        return out

    def predict(self, X):
        """Most probable class of each chip, shape (n,)."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: never mutate the live __dict__
        if "net_" in state:
            state["net_"] = _net_state(state["net_"])
        return state

    def __setstate__(self, state):
        state = dict(state)
        if "net_" in state:
            state["net_"] = _net_from_state(state["net_"])
        super().__setstate__(state)
