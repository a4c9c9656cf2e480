"""Network inversion: regressors that map simulated geophysical data to earth-model parameters.

Four scikit-learn regressors (parameters only in ``__init__``, validation in ``fit``, fitted
attributes ending in ``_``, ``predict`` and ``score`` = R^2), all on plain ndarrays:

- :class:`MLPInverter`: a feed-forward network trained with Adam (torch, CPU) and early stopping;
  ``MLPInverter(hidden=(2, 5))`` is the 101-2-5-4 network of the ezygeo-ai SP study.
- :class:`RBFNetwork`: Gaussian radial basis functions on k-means centres, linear output by ridge.
- :class:`GRNN`: Specht's (1991) general regression neural network.
- :class:`PSOTrainedNetwork`: a one-hidden-layer tanh BP network whose weights a particle swarm finds
  (SPSO-BP / COPSO-BP of Li et al. 2019), optionally polished by gradient steps.

Every estimator standardises its inputs and targets inside ``fit`` (zero mean, unit variance per
column) and undoes the target scaling in ``predict``. Any other transform, such as log10 of
resistivities or of TEM decays, is the caller's, explicitly, before ``fit`` and after ``predict``.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from scipy.linalg import lstsq
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.cluster import KMeans
from sklearn.metrics import r2_score
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from geoprospect.geophysics.optimize import ParticleSwarm
from geoprospect.nn import ACTIVATIONS, TorchStateMixin, check_positive_int, seeded_mlp, torch_seed

# Rows x training rows per kernel block: bounds GRNN memory (about 32 MB of float64) for any size.
_KERNEL_BLOCK = 4_000_000


class _StandardisedRegressor(RegressorMixin, BaseEstimator):
    """Shared fit-time checks and the column standardisation of inputs and targets."""

    def _validate_fit(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        """Checked float arrays (NaN or inf raise ValueError); sets ``n_features_in_`` and ``n_outputs_``."""
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        return X, y

    def _fit_scaling(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Store column means and scales of ``X`` and ``y``; return both standardised, ``y`` as 2-D."""
        y = y.reshape(len(y), -1)
        self.x_mean_, self.x_scale_ = _moments(X)
        self.y_mean_, self.y_scale_ = _moments(y)
        return (X - self.x_mean_) / self.x_scale_, (y - self.y_mean_) / self.y_scale_

    def _unscale(self, ys: np.ndarray) -> np.ndarray:
        """Targets in their own units from standardised (n_samples, n_outputs); 1-D for one output."""
        y = ys * self.y_scale_ + self.y_mean_
        return y[:, 0] if self.n_outputs_ == 1 else y


class MLPInverter(TorchStateMixin, _StandardisedRegressor):
    """Feed-forward network (multilayer perceptron) trained by Adam with early stopping.

    A random ``validation_fraction`` of the rows is held out; training stops when the validation
    MSE has not improved for ``patience`` epochs and the weights of the best epoch are kept.
    Trained on CPU in float32; a fixed ``random_state`` fixes the initial weights (seeded with
    ``torch.manual_seed`` in a forked RNG), the split and the batch order, so fits repeat exactly.
    torch's intra-op thread count is left as the caller set it: these networks are small, and on a
    busy 2-core machine one thread (``torch.set_num_threads(1)``, or the restoring context
    ``geoprospect.models.autoencoder.one_torch_thread``) trained them about 25 times faster than two.

    Parameters
    ----------
    hidden : tuple of int, default=(64, 64)
        Hidden layer widths. ``(2, 5)`` with 101 inputs and 4 outputs is the SP study's 101-2-5-4
        baseline.
    epochs : int, default=200
        Maximum passes over the training rows.
    lr : float, default=1e-3
        Adam learning rate.
    batch_size : int, default=64
    validation_fraction : float, default=0.2
        Share of rows held out for early stopping (0 < fraction < 1).
    patience : int, default=20
        Epochs without a validation improvement before training stops.
    activation : {"tanh", "relu", "leaky_relu"}, default="tanh"
    random_state : int, RandomState or None

    Attributes
    ----------
    net_ : torch.nn.Module
        The trained network, on standardised inputs and targets (eval mode).
    loss_curve_, validation_loss_curve_ : ndarray of shape (n_epochs_run,)
        Mean training and validation MSE per epoch, in standardised target units.
    best_epoch_ : int
        Epoch (0-based) whose weights were kept.
    x_mean_, x_scale_ : ndarray of shape (n_features,)
    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
    n_features_in_, n_outputs_ : int
    """

    _torch_attributes = ("net_",)

    def __init__(self, hidden=(64, 64), epochs=200, lr=1e-3, batch_size=64, validation_fraction=0.2, patience=20,
                 activation="tanh", random_state=None):
        self.hidden = hidden
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.activation = activation
        self.random_state = random_state

    def fit(self, X, y):
        """Train on ``X`` (n_samples, n_features) and ``y`` (n_samples,) or (n_samples, n_outputs)."""
        X, y = self._validate_fit(X, y)
        for name in ("epochs", "batch_size", "patience"):
            check_positive_int(getattr(self, name), name)
        if isinstance(self.hidden, Integral):
            raise ValueError(f"hidden must be a tuple of layer widths, e.g. ({self.hidden},), got {self.hidden!r}")
        for width in self.hidden:
            check_positive_int(width, "hidden widths")
        _check_positive_real(self.lr, "lr")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        train, val = _split(len(X), self.validation_fraction, self.random_state)

        xs, ys = self._fit_scaling(X, y)
        seed = torch_seed(self.random_state)
        net = seeded_mlp((X.shape[1], *self.hidden, ys.shape[1]), self.activation, seed)
        x_train, y_train = (torch.as_tensor(a[train], dtype=torch.float32) for a in (xs, ys))
        x_val, y_val = (torch.as_tensor(a[val], dtype=torch.float32) for a in (xs, ys))
        batches = torch.Generator().manual_seed(seed)
        optimiser = torch.optim.Adam(net.parameters(), lr=self.lr)
        losses, val_losses = [], []
        best_loss, best_state, stale = np.inf, None, 0
        for epoch in range(self.epochs):
            total = 0.0
            for rows in torch.randperm(len(x_train), generator=batches).split(self.batch_size):
                loss = nn.functional.mse_loss(net(x_train[rows]), y_train[rows])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total += loss.item() * len(rows)
            losses.append(total / len(x_train))
            with torch.no_grad():
                val_losses.append(nn.functional.mse_loss(net(x_val), y_val).item())
            if val_losses[-1] < best_loss:
                best_loss, stale, self.best_epoch_ = val_losses[-1], 0, epoch
                best_state = {name: value.clone() for name, value in net.state_dict().items()}
            else:
                stale += 1
                if stale >= self.patience:
                    break
        if best_state is None:
            raise ValueError("training diverged (the validation loss was never finite): lower lr")
        net.load_state_dict(best_state)
        self.net_ = net.eval()
        self.loss_curve_ = np.asarray(losses)
        self.validation_loss_curve_ = np.asarray(val_losses)
        return self

    def predict(self, X):
        """Predicted targets, (n_samples, n_outputs), or (n_samples,) for a single output."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        with torch.no_grad():
            out = self.net_(torch.as_tensor((X - self.x_mean_) / self.x_scale_, dtype=torch.float32))
        return self._unscale(out.numpy().astype(np.float64))


class RBFNetwork(_StandardisedRegressor):
    """Radial basis function network: Gaussian units on k-means centres, ridge-solved linear output.

    ``y(x) = sum_j w_j exp(-|x - c_j|^2 / (2 width^2)) + b`` on standardised inputs, with the centres
    ``c_j`` found by k-means and the output weights by ridge-regularised least squares (Moody and
    Darken 1989; Haykin 2009, *Neural Networks and Learning Machines*, ch. 5).

    Parameters
    ----------
    n_centres : int, default=50
        Number of Gaussian units (k-means clusters), at most the number of training rows.
    width : float or "auto", default="auto"
        Gaussian width in standardised input units. ``"auto"`` uses ``d_max / sqrt(2 n_centres)``,
        with ``d_max`` the largest distance between centres (Haykin's rule).
    ridge : float, default=1e-6
        Ridge penalty on the output weights (not on the bias), >= 0.
    random_state : int, RandomState or None
        Seeds k-means.

    Attributes
    ----------
    centres_ : ndarray of shape (n_centres, n_features)
        Centres, in standardised input units.
    width_ : float
    coef_ : ndarray of shape (n_centres + 1, n_outputs)
        Output weights, the bias last, in standardised target units.
    x_mean_, x_scale_, y_mean_, y_scale_ : ndarray
    n_features_in_, n_outputs_ : int
    """

    def __init__(self, n_centres=50, width="auto", ridge=1e-6, random_state=None):
        self.n_centres = n_centres
        self.width = width
        self.ridge = ridge
        self.random_state = random_state

    def fit(self, X, y):
        """Place the centres and solve the output weights; ``X`` (n_samples, n_features)."""
        X, y = self._validate_fit(X, y)
        check_positive_int(self.n_centres, "n_centres")
        if self.n_centres > len(X):
            raise ValueError(f"n_centres ({self.n_centres}) exceeds the number of training rows ({len(X)})")
        if not isinstance(self.ridge, Real) or self.ridge < 0:
            raise ValueError(f"ridge must be non-negative, got {self.ridge!r}")
        if self.width != "auto":
            _check_positive_real(self.width, "width")
        xs, ys = self._fit_scaling(X, y)
        self.centres_ = KMeans(self.n_centres, n_init=4, random_state=self.random_state).fit(xs).cluster_centers_
        if self.width == "auto":
            d_max = euclidean_distances(self.centres_).max()
            if d_max == 0:
                raise ValueError("the k-means centres coincide: give a width or fewer centres")
            self.width_ = float(d_max / np.sqrt(2 * self.n_centres))
        else:
            self.width_ = float(self.width)
        design = self._design(xs)
        # Ridge as extra rows sqrt(ridge) I (bias unpenalised); lstsq copes with a rank-deficient basis.
        penalty = np.sqrt(self.ridge) * np.eye(self.n_centres, self.n_centres + 1)
        self.coef_ = lstsq(np.vstack([design, penalty]), np.vstack([ys, np.zeros((self.n_centres, ys.shape[1]))]))[0]
        return self

    def predict(self, X):
        """Predicted targets, (n_samples, n_outputs), or (n_samples,) for a single output."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self._unscale(self._design((X - self.x_mean_) / self.x_scale_) @ self.coef_)

    def _design(self, xs: np.ndarray) -> np.ndarray:
        """Gaussian activations and a bias column, (n_samples, n_centres + 1)."""
        d2 = euclidean_distances(xs, self.centres_, squared=True)
        return np.hstack([np.exp(-d2 / (2 * self.width_**2)), np.ones((len(xs), 1))])


class GRNN(_StandardisedRegressor):
    """General regression neural network (Specht 1991, IEEE Trans. Neural Networks 2, 568-576).

    The prediction is the kernel-weighted average of the training targets,
    ``y(x) = sum_i y_i exp(-D_i^2 / (2 sigma^2)) / sum_i exp(-D_i^2 / (2 sigma^2))``, with ``D_i`` the
    Euclidean distance from ``x`` to training row ``i`` in standardised input units. The weights are
    computed as a softmax (shifted by the smallest distance), so a tiny sigma tends to the nearest
    neighbour instead of 0/0. Being a convex combination of training targets, the prediction does
    not depend on how targets are scaled: targets are standardised only to score sigma.

    Parameters
    ----------
    sigma : float or "auto", default="auto"
        Kernel width in standardised input units. ``"auto"`` picks, from 31 values log-spaced
        between 0.01 and 10 times ``sqrt(n_features)``, the one with the smallest leave-one-out MSE
        (standardised targets, so each output weighs the same). A set with repeated rows (such as
        the SP grid draw) drives it to the smallest value.

    Attributes
    ----------
    sigma_ : float
    sigma_grid_, loo_mse_ : ndarray of shape (31,)
        Only with ``sigma="auto"``: the candidates and their leave-one-out MSE.
    x_train_ : ndarray of shape (n_samples, n_features)
        Standardised training inputs.
    y_train_ : ndarray of shape (n_samples, n_outputs)
        Training targets, in their own units.
    x_mean_, x_scale_, y_mean_, y_scale_ : ndarray
    n_features_in_, n_outputs_ : int
    """

    def __init__(self, sigma="auto"):
        self.sigma = sigma

    def fit(self, X, y):
        """Store the training rows and choose sigma; ``X`` (n_samples, n_features)."""
        X, y = self._validate_fit(X, y)
        if len(X) < 2:
            raise ValueError("GRNN needs at least two training rows")
        xs, ys = self._fit_scaling(X, y)
        self.x_train_ = xs
        self.y_train_ = y.reshape(len(y), -1)
        if self.sigma == "auto":
            self.sigma_grid_ = np.geomspace(0.01, 10.0, 31) * np.sqrt(X.shape[1])
            self.loo_mse_ = self._loo_mse(ys, self.sigma_grid_)
            self.sigma_ = float(self.sigma_grid_[np.argmin(self.loo_mse_)])
        else:
            _check_positive_real(self.sigma, "sigma")
            self.sigma_ = float(self.sigma)
        return self

    def predict(self, X):
        """Predicted targets, (n_samples, n_outputs), or (n_samples,) for a single output."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        xs = (X - self.x_mean_) / self.x_scale_
        out = np.empty((len(xs), self.n_outputs_))
        for rows in _row_blocks(len(xs), len(self.x_train_)):
            d2 = euclidean_distances(xs[rows], self.x_train_, squared=True)
            out[rows] = _kernel_weights(d2, self.sigma_) @ self.y_train_
        return out[:, 0] if self.n_outputs_ == 1 else out

    def _loo_mse(self, ys: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
        """Leave-one-out MSE of standardised targets for each sigma: each row predicted from the others."""
        n = len(ys)
        sse = np.zeros(len(sigmas))
        for rows in _row_blocks(n, n):
            d2 = euclidean_distances(self.x_train_[rows], self.x_train_, squared=True)
            d2[np.arange(d2.shape[0]), np.arange(rows.start, rows.stop)] = np.inf  # leave the row itself out
            for k, sigma in enumerate(sigmas):
                sse[k] += np.sum((_kernel_weights(d2, sigma) @ ys - ys[rows]) ** 2)
        return sse / ys.size


class PSOTrainedNetwork(_StandardisedRegressor):
    """One-hidden-layer BP network (tanh hidden, linear output) whose weights a particle swarm finds.

    The SPSO-BP and COPSO-BP inversions of Li et al. (2019, Nonlinear Processes in Geophysics 26,
    445-456): every particle is the full weight vector of the network and the swarm minimises the
    training MSE (standardised targets); pass ``ParticleSwarm(chaotic=False)`` for SPSO-BP and
    ``ParticleSwarm(chaotic=True)`` for COPSO-BP. The swarm searches the box ``+- weight_bound /
    sqrt(fan_in)`` for the weights of each layer and ``+- weight_bound`` for the biases, so a
    hidden unit's input stays in tanh's working range whatever the number of inputs. Optional
    full-batch gradient steps (Adam or L-BFGS, torch, float64) then polish the swarm's best weights;
    they may leave the box.

    Parameters
    ----------
    hidden : int, default=10
        Number of hidden units (choose it with :func:`choose_hidden_size`).
    optimizer : object or None, default=None
        A swarm with ``minimize(objective, lower, upper) -> result`` (``result.x`` the best vector),
        the objective mapping (batch, n_weights) to (batch,), such as
        :class:`~geoprospect.geophysics.optimize.ParticleSwarm`. ``None`` uses
        ``ParticleSwarm(random_state=random_state)`` with its defaults (60 particles, 30
        iterations, inertia 0.9 to 0.4, c1 = c2 = 2: the paper's setting).
    weight_bound : float, default=3.0
    polish : {None, "adam", "lbfgs"}, default=None
        Gradient polishing after the swarm; off by default, as in the paper.
    polish_iter : int, default=200
        Adam steps, or L-BFGS iterations.
    polish_lr : float, default=1e-2
        Adam learning rate (L-BFGS uses a strong-Wolfe line search with step 1).
    random_state : int, numpy.random.Generator or None
        Passed to the default swarm (a given ``optimizer`` keeps its own); the polishing is
        deterministic.

    Attributes
    ----------
    coefs_ : list of two ndarrays
        Weights (n_features, hidden) and (hidden, n_outputs), on standardised units.
    intercepts_ : list of two ndarrays
        Biases (hidden,) and (n_outputs,).
    optimizer_result_ : object
        What the swarm's ``minimize`` returned.
    swarm_mse_ : float
        Training MSE (standardised targets) of the swarm's best weights.
    training_mse_ : float
        Training MSE of the final weights (after polishing, if any).
    x_mean_, x_scale_, y_mean_, y_scale_ : ndarray
    n_features_in_, n_outputs_ : int
    """

    def __init__(self, hidden=10, optimizer=None, weight_bound=3.0, polish=None, polish_iter=200, polish_lr=1e-2,
                 random_state=None):
        self.hidden = hidden
        self.optimizer = optimizer
        self.weight_bound = weight_bound
        self.polish = polish
        self.polish_iter = polish_iter
        self.polish_lr = polish_lr
        self.random_state = random_state

    def fit(self, X, y):
        """Find the weights for ``X`` (n_samples, n_features) and ``y`` (n_samples[, n_outputs])."""
        X, y = self._validate_fit(X, y)
        check_positive_int(self.hidden, "hidden")
        check_positive_int(self.polish_iter, "polish_iter")
        _check_positive_real(self.weight_bound, "weight_bound")
        _check_positive_real(self.polish_lr, "polish_lr")
        if self.polish not in (None, "adam", "lbfgs"):
            raise ValueError(f"polish must be None, 'adam' or 'lbfgs', got {self.polish!r}")
        xs, ys = self._fit_scaling(X, y)
        shapes = _layer_shapes(X.shape[1], self.hidden, ys.shape[1])
        bounds = []
        for shape in shapes:  # weights (fan_in, fan_out): +- weight_bound / sqrt(fan_in); biases: +- weight_bound
            bound = self.weight_bound / np.sqrt(shape[0]) if len(shape) == 2 else self.weight_bound
            bounds.append(np.full(int(np.prod(shape)), bound))
        upper = np.concatenate(bounds)

        def training_mse(vectors: np.ndarray) -> np.ndarray:
            return np.mean((_tanh_network(xs, *_unpack(vectors, shapes)) - ys) ** 2, axis=(1, 2))

        optimizer = ParticleSwarm(random_state=self.random_state) if self.optimizer is None else self.optimizer
        self.optimizer_result_ = optimizer.minimize(training_mse, -upper, upper)
        best = np.asarray(self.optimizer_result_.x, dtype=float)[None, :]
        self.swarm_mse_ = float(training_mse(best)[0])
        params = [p[0] for p in _unpack(best, shapes)]
        if self.polish is not None:
            params = self._polished(params, xs, ys)
        self.coefs_, self.intercepts_ = [params[0], params[2]], [params[1], params[3]]
        self.training_mse_ = float(np.mean((_tanh_network(xs, *(p[None] for p in params))[0] - ys) ** 2))
        return self

    def predict(self, X):
        """Predicted targets, (n_samples, n_outputs), or (n_samples,) for a single output."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        params = (self.coefs_[0], self.intercepts_[0], self.coefs_[1], self.intercepts_[1])
        return self._unscale(_tanh_network((X - self.x_mean_) / self.x_scale_, *(p[None] for p in params))[0])

    def _polished(self, params: list[np.ndarray], xs: np.ndarray, ys: np.ndarray) -> list[np.ndarray]:
        """Full-batch gradient descent from the swarm's weights (w1, b1, w2, b2)."""
        weights = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
        x, y = torch.as_tensor(xs), torch.as_tensor(ys)

        def loss() -> torch.Tensor:
            w1, b1, w2, b2 = weights
            return nn.functional.mse_loss(torch.tanh(x @ w1 + b1) @ w2 + b2, y)

        if self.polish == "adam":
            optimiser = torch.optim.Adam(weights, lr=self.polish_lr)
            for _ in range(self.polish_iter):
                optimiser.zero_grad()
                loss().backward()
                optimiser.step()
        else:
            optimiser = torch.optim.LBFGS(weights, max_iter=self.polish_iter, line_search_fn="strong_wolfe")

            def closure() -> torch.Tensor:
                optimiser.zero_grad()
                value = loss()
                value.backward()
                return value

            optimiser.step(closure)
        return [w.detach().numpy().copy() for w in weights]


def choose_hidden_size(candidates, X, y, estimator, validation_fraction=0.2, random_state=None):
    """Pick the hidden size with the best validation R^2, as Li et al. (2019) choose s in 10-s-5.

    Each candidate is fitted on the same training rows and scored (R^2 averaged over the outputs,
    ``sklearn.metrics.r2_score``) on the same held-out rows. Li et al. draw the candidates from the
    empirical rule ``s = sqrt(n_inputs + n_outputs) + a``, a = 1 ... 10.

    Parameters
    ----------
    candidates : sequence
        Values of the estimator's ``hidden`` parameter (ints for :class:`PSOTrainedNetwork`, tuples
        for :class:`MLPInverter`).
    X : array_like, shape (n_samples, n_features)
    y : array_like, shape (n_samples,) or (n_samples, n_outputs)
    estimator : estimator with a ``hidden`` parameter
        Template, cloned for each candidate.
    validation_fraction : float, default=0.2
    random_state : int, RandomState or None
        Seeds the split.

    Returns
    -------
    best : the candidate with the highest validation R^2 (the first listed on a tie)
    table : pandas.DataFrame
        Columns ``hidden``, ``r2_train``, ``r2_validation``, one row per candidate.
    """
    candidates = list(candidates)
    if not candidates:
        raise ValueError("give at least one candidate hidden size")
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    train, val = _split(len(X), validation_fraction, random_state)
    rows = []
    for hidden in candidates:
        fitted = clone(estimator).set_params(hidden=hidden).fit(X[train], y[train])
        rows.append({"hidden": hidden, "r2_train": r2_score(y[train], fitted.predict(X[train])),
                     "r2_validation": r2_score(y[val], fitted.predict(X[val]))})
    table = pd.DataFrame(rows)
    return candidates[int(np.argmax(table["r2_validation"].to_numpy()))], table


def _moments(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column means and standard deviations; a constant column keeps scale 1 (no division by zero)."""
    scale = a.std(axis=0)
    return a.mean(axis=0), np.where(scale > 0, scale, 1.0)


def _split(n: int, fraction: float, random_state) -> tuple[np.ndarray, np.ndarray]:
    """Random (train, validation) row indices with ``round(fraction n)`` validation rows."""
    if not isinstance(fraction, Real) or not 0 < fraction < 1:
        raise ValueError(f"validation_fraction must lie strictly between 0 and 1, got {fraction!r}")
    n_val = round(fraction * n)
    if not 0 < n_val < n:
        raise ValueError(f"{n} rows cannot be split into training and validation rows at fraction {fraction}")
    order = check_random_state(random_state).permutation(n)
    return order[n_val:], order[:n_val]


def _check_positive_real(value, name: str) -> None:
    if not isinstance(value, Real) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def _row_blocks(n_rows: int, n_columns: int):
    """Slices of rows such that a block of ``rows x n_columns`` stays under ``_KERNEL_BLOCK`` entries."""
    step = max(1, _KERNEL_BLOCK // max(n_columns, 1))
    return [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]


def _kernel_weights(d2: np.ndarray, sigma: float) -> np.ndarray:
    """Row-normalised Gaussian weights ``exp(-d2 / (2 sigma^2))``, computed stably as a softmax."""
    logits = -(d2 - d2.min(axis=1, keepdims=True)) / (2 * sigma**2)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def _layer_shapes(n_in: int, hidden: int, n_out: int) -> list[tuple[int, ...]]:
    """Shapes of (w1, b1, w2, b2): the order of the flat weight vector."""
    return [(n_in, hidden), (hidden,), (hidden, n_out), (n_out,)]


def _unpack(vectors: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """Split (batch, n_weights) vectors into batched (w1, b1, w2, b2) arrays."""
    sizes = [int(np.prod(shape)) for shape in shapes]
    parts = np.split(vectors, np.cumsum(sizes)[:-1], axis=1)
    return [part.reshape(len(vectors), *shape) for part, shape in zip(parts, shapes, strict=True)]


def _tanh_network(xs: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """Outputs of a batch of networks on the same rows: (batch, n_samples, n_outputs)."""
    hidden = np.tanh(np.einsum("nf,bfh->bnh", xs, w1) + b1[:, None, :])
    return np.einsum("bnh,bho->bno", hidden, w2) + b2[:, None, :]
