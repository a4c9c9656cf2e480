"""A stacked autoencoder (torch) as a scikit-learn transformer.

The autoencoder compresses a scaled feature stack to a few dimensions (Hinton and Salakhutdinov 2006,
"Reducing the dimensionality of data with neural networks"; as used for prospectivity embeddings,
e.g. Esmaeiloghli et al. 2023). It is fitted on the rows it is given, so inside a cross-validation
fold it sees only that fold's training rows.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from geoprospect.nn import ACTIVATIONS, TorchStateMixin, check_positive_int, one_torch_thread, seeded_mlp, torch_seed


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
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")

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
