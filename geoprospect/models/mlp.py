"""A multilayer perceptron with dropout (torch) as a scikit-learn classifier, and its MC-dropout spread.

Dropout (Srivastava et al. 2014) is applied after every hidden layer while training. Left on at
prediction it turns one network into a sample of thinned networks; the SD of their outputs over
``mc_passes`` passes is the model's predictive spread (Monte Carlo dropout, Gal and Ghahramani 2016,
ICML). ``predict_proba`` runs the full network (inverted dropout, so no rescaling), ``predict_sd`` the
passes, each with masks drawn from a generator seeded at fit: the same model gives the same spread.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from geoprospect.nn import ACTIVATIONS, TorchStateMixin, check_positive_int, one_torch_thread, seeded_mlp, torch_seed


def _forward(net, x: torch.Tensor, dropout: float, generator: torch.Generator | None) -> torch.Tensor:
    """Logits of ``net``; with a generator, every hidden activation is dropped with probability ``dropout``."""
    layers = list(net)
    for i, layer in enumerate(layers):
        x = layer(x)
        if generator is not None and dropout > 0 and isinstance(layer, tuple(ACTIVATIONS.values())) and i < len(layers) - 1:
            keep = torch.bernoulli(torch.full_like(x, 1.0 - dropout), generator=generator)
            x = x * keep / (1.0 - dropout)
    return x[:, 0]


class DropoutMLPClassifier(TorchStateMixin, ClassifierMixin, BaseEstimator):
    """Binary MLP classifier trained with dropout; its spread is the SD over MC-dropout passes.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
        Widths of the hidden layers.
    alpha : float
        L2 penalty (Adam weight decay).
    max_iter : int
        Training epochs.
    batch_size : int
    learning_rate_init : float
        Adam step size.
    dropout : float in [0, 1)
        Probability of dropping a hidden unit, in training and in the MC passes.
    mc_passes : int
        Stochastic passes of :meth:`predict_sd`.
    activation : {"relu", "tanh", "leaky_relu"}
    random_state : int, RandomState or None

    Attributes
    ----------
    net_ : geoprospect.nn.MLP
    classes_ : ndarray (2,)
    seed_ : int
        Seeds the training batches and the MC-dropout masks.
    loss_curve_ : ndarray (max_iter,)
    """

    _torch_attributes = ("net_",)
    spread_name = "dropout"  # how geoprospect.uncertainty labels predict_sd

    def __init__(self, hidden_layer_sizes=(32, 16), alpha=1e-3, max_iter=200, batch_size=200, learning_rate_init=1e-3,
                 dropout=0.2, mc_passes=30, activation="relu", random_state=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.dropout = dropout
        self.mc_passes = mc_passes
        self.activation = activation
        self.random_state = random_state

    def fit(self, X, y):
        """Train on ``X`` (n_samples, n_features) and binary labels ``y``."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        for name in ("max_iter", "batch_size", "mc_passes"):
            check_positive_int(getattr(self, name), name)
        for width in self.hidden_layer_sizes:
            check_positive_int(width, "hidden_layer_sizes")
        if not isinstance(self.dropout, Real) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        self.classes_ = np.unique(y)
        if self.classes_.size != 2:
            raise ValueError(f"two classes are needed, got {self.classes_.tolist()}")
        self.seed_ = torch_seed(self.random_state)
        net = seeded_mlp((X.shape[1], *self.hidden_layer_sizes, 1), self.activation, self.seed_)
        generator = torch.Generator().manual_seed(self.seed_)
        data = torch.as_tensor(X, dtype=torch.float32)
        target = torch.as_tensor(y == self.classes_[1], dtype=torch.float32)
        optimiser = torch.optim.Adam(net.parameters(), lr=self.learning_rate_init, weight_decay=self.alpha)
        losses = np.empty(self.max_iter)
        with one_torch_thread():
            for epoch in range(self.max_iter):
                total = 0.0
                for rows in torch.randperm(len(data), generator=generator).split(self.batch_size):
                    loss = torch.nn.functional.binary_cross_entropy_with_logits(
                        _forward(net, data[rows], self.dropout, generator), target[rows])
                    optimiser.zero_grad()
                    loss.backward()
                    optimiser.step()
                    total += loss.item() * len(rows)
                losses[epoch] = total / len(data)
        self.net_ = net.eval()
        self.loss_curve_ = losses
        return self

    def _passes(self, X, passes: int) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        data = torch.as_tensor(X, dtype=torch.float32)
        generator = torch.Generator().manual_seed(self.seed_ + 1) if passes else None
        with torch.no_grad(), one_torch_thread():
            runs = [torch.sigmoid(_forward(self.net_, data, self.dropout, generator)) for _ in range(max(passes, 1))]
        return torch.stack(runs).numpy().astype(np.float64)

    def predict_proba(self, X):
        """Probabilities of the full network (dropout off), shape (n_samples, 2)."""
        p = self._passes(X, 0)[0]
        return np.column_stack([1.0 - p, p])

    def predict_sd(self, X):
        """SD of the positive probability over ``mc_passes`` MC-dropout passes, shape (n_samples,)."""
        return self._passes(X, self.mc_passes).std(axis=0)

    def predict(self, X):
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]
