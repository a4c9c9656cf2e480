"""A stacked autoencoder (torch) as a scikit-learn transformer, and the torch helpers shared with the GAN.

The autoencoder compresses a scaled feature stack to a few dimensions (Hinton and Salakhutdinov 2006,
"Reducing the dimensionality of data with neural networks"; as used for prospectivity embeddings,
e.g. Esmaeiloghli et al. 2023). It is fitted on the rows it is given, so inside a cross-validation
fold it sees only that fold's training rows.

Torch modules held by fitted estimators are stored, when pickled or saved with skops, as plain numpy
state dicts (:class:`TorchStateMixin`): a saved model holds no torch object and no pickle.
"""

from __future__ import annotations

import contextlib
import itertools
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU}


class MLP(nn.Sequential):
    """Fully connected layers ``sizes[0] -> ... -> sizes[-1]``, ``activation`` between them, linear output.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first.
    activation : {"relu", "tanh", "leaky_relu"}
        Non-linearity after every layer but the last.
    """

    def __init__(self, sizes, activation: str = "relu"):
        sizes = tuple(int(s) for s in sizes)
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:
                layers.append(_ACTIVATIONS[activation]())
        super().__init__(*layers)
        self.sizes = sizes
        self.activation = activation


def mlp_state(net: MLP) -> dict:
    """An :class:`MLP` as plain data: its sizes, activation and weights as numpy arrays."""
    return {"sizes": list(net.sizes), "activation": net.activation,
            "tensors": {name: value.detach().cpu().numpy().copy() for name, value in net.state_dict().items()}}


def mlp_from_state(state: dict) -> MLP:
    """Rebuild an :class:`MLP` (in eval mode) from :func:`mlp_state`'s output."""
    net = MLP(state["sizes"], state["activation"])
    net.load_state_dict({name: torch.from_numpy(np.asarray(value)) for name, value in state["tensors"].items()})
    return net.eval()


class TorchStateMixin:
    """Store the torch modules of fitted attributes as numpy state dicts when pickled or saved with skops.

    Subclasses list in ``_torch_attributes`` the fitted attributes that hold an :class:`MLP` or a list of
    them. skops then saves only numpy arrays, ints and strings, and loading runs no torch deserialiser.
    """

    _torch_attributes: tuple[str, ...] = ()

    def __getstate__(self):
        state = dict(super().__getstate__())  # object.__getstate__ returns __dict__ itself: never mutate it
        for name in self._torch_attributes:
            if name in state:
                value = state[name]
                state[name] = [mlp_state(v) for v in value] if isinstance(value, list) else mlp_state(value)
        return state

    def __setstate__(self, state):
        state = dict(state)
        for name in self._torch_attributes:
            if name in state:
                value = state[name]
                state[name] = [mlp_from_state(v) for v in value] if isinstance(value, list) else mlp_from_state(value)
        super().__setstate__(state)


def torch_seed(random_state) -> int:
    """A torch seed drawn from a scikit-learn ``random_state`` (int, RandomState or None)."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def seeded_mlp(sizes, activation: str, seed: int) -> MLP:
    """An :class:`MLP` whose initial weights depend on ``seed`` only; torch's global RNG is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MLP(sizes, activation)


@contextlib.contextmanager
def one_torch_thread():
    """Train with one intra-op thread, restoring the setting after.

    These networks are a few thousand weights and batches of a few dozen rows: extra threads only add
    synchronisation, and on a loaded machine (or beside parallel CV folds) they slowed training here
    about tenfold. Results do not depend on the thread count.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def check_positive_int(value, name: str) -> None:
    if not isinstance(value, Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


class AutoencoderEmbedding(TorchStateMixin, TransformerMixin, BaseEstimator):
    """Stacked autoencoder embedding of a (scaled) feature table.

    Encoder ``n_features -> hidden... -> n_components`` and the mirrored decoder, trained end to end on
    the mean squared reconstruction error with Adam, on CPU. Inputs should be standardised before it
    (the pipeline puts a ``StandardScaler`` in front).

    Parameters
    ----------
    n_components : int, default=4
        Size of the code (the embedding).
    hidden : tuple of int, default=(32, 16)
        Widths of the encoder's hidden layers (the decoder mirrors them).
    epochs : int, default=50
        Passes over the training rows.
    batch_size : int, default=128
    learning_rate : float, default=1e-3
    activation : {"relu", "tanh", "leaky_relu"}, default="tanh"
    mode : {"replace", "append"}, default="replace"
        ``"replace"``: :meth:`transform` returns the codes, shape (n_samples, n_components);
        ``"append"``: the input with the codes appended, shape (n_samples, n_features + n_components).
    random_state : int, RandomState or None
        Seeds the initial weights and the batch order: a fixed int gives identical codes.

    Attributes
    ----------
    encoder_, decoder_ : MLP
        The trained networks (eval mode).
    loss_curve_ : ndarray of shape (epochs,)
        Mean training reconstruction error (MSE, in squared input units) per epoch.
    n_features_in_ : int
    """

    _torch_attributes = ("encoder_", "decoder_")

    def __init__(self, n_components=4, hidden=(32, 16), epochs=50, batch_size=128, learning_rate=1e-3,
                 activation="tanh", mode="replace", random_state=None):
        self.n_components = n_components
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.activation = activation
        self.mode = mode
        self.random_state = random_state

    def fit(self, X, y=None):
        """Train the autoencoder on ``X`` of shape (n_samples, n_features); ``y`` is ignored."""
        X = validate_data(self, X, dtype=np.float64)
        for name in ("n_components", "epochs", "batch_size"):
            check_positive_int(getattr(self, name), name)
        for width in self.hidden:
            check_positive_int(width, "hidden widths")
        if not isinstance(self.learning_rate, Real) or self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if self.mode not in ("replace", "append"):
            raise ValueError(f"mode must be 'replace' or 'append', got {self.mode!r}")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {self.activation!r}")

        seed = torch_seed(self.random_state)
        sizes = (X.shape[1], *self.hidden, self.n_components)
        encoder = seeded_mlp(sizes, self.activation, seed)
        decoder = seeded_mlp(sizes[::-1], self.activation, seed + 1)
        batches = torch.Generator().manual_seed(seed)
        data = torch.as_tensor(X, dtype=torch.float32)
        optimiser = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=self.learning_rate)
        losses = np.empty(self.epochs)
        with one_torch_thread():
            for epoch in range(self.epochs):
                total = 0.0
                for rows in torch.randperm(len(data), generator=batches).split(self.batch_size):
                    batch = data[rows]
                    loss = nn.functional.mse_loss(decoder(encoder(batch)), batch)
                    optimiser.zero_grad()
                    loss.backward()
                    optimiser.step()
                    total += loss.item() * len(rows)
                losses[epoch] = total / len(data)
        self.encoder_, self.decoder_ = encoder.eval(), decoder.eval()
        self.loss_curve_ = losses
        return self

    def transform(self, X):
        """Codes of ``X``, (n_samples, n_components), or ``X`` with the codes appended (``mode="append"``)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        with torch.no_grad():
            codes = self.encoder_(torch.as_tensor(X, dtype=torch.float32)).numpy().astype(np.float64)
        return codes if self.mode == "replace" else np.hstack([X, codes])

    def inverse_transform(self, X):
        """Reconstruct inputs from :meth:`transform`'s output (its last ``n_components`` columns are the codes).

        Returns an array of shape (n_samples, n_features_in_).
        """
        check_is_fitted(self)
        codes = np.asarray(X, dtype=np.float64)[:, -self.n_components:]
        with torch.no_grad():
            return self.decoder_(torch.as_tensor(codes, dtype=torch.float32)).numpy().astype(np.float64)

    def get_feature_names_out(self, input_features=None):
        """``autoencoder0 ... autoencoder{k-1}``, after the input names in ``mode="append"``."""
        check_is_fitted(self)
        codes = [f"autoencoder{i}" for i in range(self.n_components)]
        if self.mode == "replace":
            return np.asarray(codes, dtype=object)
        if input_features is None:
            input_features = getattr(self, "feature_names_in_", [f"x{i}" for i in range(self.n_features_in_)])
        return np.asarray([*input_features, *codes], dtype=object)
