"""Minority oversamplers: SMOTE with a safe neighbour count, and SMOTified-GAN (torch).

SMOTified-GAN follows Sharma et al. (2022), "SMOTified-GAN for class imbalanced pattern classification
problems" (IEEE Access 10, 30655): SMOTE (Chawla et al. 2002) draws synthetic minority samples, and
those samples, not random noise, are the generator's input. The generator is trained adversarially
against a discriminator that sees the real minority samples, then refines the SMOTE samples.

Both are imbalanced-learn samplers: they act in ``fit_resample`` only, so inside an
``imblearn.pipeline.Pipeline`` they resample the training rows of each fold and never touch prediction.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import torch
from imblearn.over_sampling import SMOTE
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_target_type
from sklearn.utils.validation import validate_data
from torch import nn

from geoprospect.errors import InputError
from geoprospect.nn import (
    TorchStateMixin,
    check_positive_int,
    one_torch_thread,
    seeded_mlp,
    torch_seed,
)

_SOURCE = "prospectivity.imbalance"


class _DenseSampler(BaseOverSampler):
    """An over-sampler for dense float tables (the feature tables of this project are never sparse)."""

    def _check_X_y(self, X, y, accept_sparse=None):
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        X, y = validate_data(self, X=X, y=y, reset=True, dtype=[np.float64, np.float32])
        return X, y, binarize_y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class CappedSMOTE(_DenseSampler):
    """SMOTE whose ``k_neighbors`` is capped by the smallest class it oversamples.

    Inside cross-validation folds a minority class may hold fewer samples than ``k_neighbors + 1``,
    which plain SMOTE refuses; this uses ``min(k_neighbors, n_minority - 1)`` neighbours instead.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        As in :class:`imblearn.over_sampling.SMOTE` ("auto": oversample every class but the majority
        up to the majority count).
    k_neighbors : int, default=5
        Neighbours among which SMOTE interpolates, before the cap.
    random_state : int, RandomState or None

    Attributes
    ----------
    k_neighbors_ : int
        The neighbour count used.
    sampling_strategy_ : dict
        Samples generated per class.
    """

    def __init__(self, *, sampling_strategy="auto", k_neighbors=5, random_state=None):
        super().__init__(sampling_strategy=sampling_strategy)
        self.k_neighbors = k_neighbors
        self.random_state = random_state

    def _fit_resample(self, X, y):
        check_positive_int(self.k_neighbors, "k_neighbors")
        counts = [np.count_nonzero(y == label) for label, n_new in self.sampling_strategy_.items() if n_new > 0]
        if not counts:
            self.k_neighbors_ = self.k_neighbors
            return X, y
        if min(counts) < 2:
            raise InputError(_SOURCE, f"a class to oversample has {min(counts)} sample(s); SMOTE needs at least 2",
                             "add deposits, use fewer cross-validation folds, or set imbalance to 'none'")
        self.k_neighbors_ = min(self.k_neighbors, min(counts) - 1)
        smote = SMOTE(sampling_strategy=self.sampling_strategy, k_neighbors=self.k_neighbors_,
                      random_state=self.random_state)
        return smote.fit_resample(X, y)


class SMOTifiedGAN(TorchStateMixin, _DenseSampler):
    """SMOTified-GAN oversampler (Sharma et al. 2022): a GAN generator refines SMOTE's samples.

    For every class that SMOTE oversamples, a generator ``G`` and a discriminator ``D`` (small MLPs) are
    trained with the non-saturating GAN loss (Goodfellow et al. 2014): ``D`` separates the real samples
    of that class from ``G(s)``, ``G`` tries to fool it, where ``s`` are SMOTE samples. The generator is
    residual, ``G(s) = s + g(s)`` with ``g``'s last layer started at zero, so the untrained generator
    returns the SMOTE samples unchanged and training moves them towards the real class distribution
    (our choice, for stability with the few dozen positives of a prospectivity study). Training runs
    in units of the feature standard deviations, on CPU.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        How many samples to generate, as in :class:`imblearn.over_sampling.SMOTE`.
    k_neighbors : int, default=5
        SMOTE neighbours, capped by the class size (:class:`CappedSMOTE`).
    hidden : tuple of int, default=(32, 32)
        Hidden widths of the generator and of the discriminator.
    epochs : int, default=50
        Passes over the SMOTE samples.
    batch_size : int, default=64
    learning_rate : float, default=2e-4
        Adam learning rate of both networks (betas 0.5, 0.999, as in DCGAN).
    random_state : int, RandomState or None
        Seeds SMOTE, the initial weights and the batches: a fixed int gives identical samples.

    Attributes
    ----------
    generators_ : list of MLP
        The trained residual generators ``g``, one per generated class.
    generated_classes_ : ndarray
        The class of each generator.
    generator_loss_, discriminator_loss_ : ndarray of shape (n_generated_classes, epochs)
        Mean losses per epoch.
    k_neighbors_ : int
        The SMOTE neighbour count used.
    """

    _torch_attributes = ("generators_",)

    def __init__(self, *, sampling_strategy="auto", k_neighbors=5, hidden=(32, 32), epochs=50, batch_size=64,
                 learning_rate=2e-4, random_state=None):
        super().__init__(sampling_strategy=sampling_strategy)
        self.k_neighbors = k_neighbors
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state

    def _fit_resample(self, X, y):
        for name in ("epochs", "batch_size"):
            check_positive_int(getattr(self, name), name)
        for width in self.hidden:
            check_positive_int(width, "hidden widths")
        if not isinstance(self.learning_rate, Real) or self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        seed = torch_seed(self.random_state)
        smote = CappedSMOTE(sampling_strategy=self.sampling_strategy, k_neighbors=self.k_neighbors, random_state=seed)
        X_smote, y_resampled = smote.fit_resample(X, y)
        self.k_neighbors_ = smote.k_neighbors_
        synthetic, synthetic_y = X_smote[len(X):], y_resampled[len(X):]

        # Train in standard-deviation units so that one learning rate suits any feature scaling.
        center, std = X.mean(axis=0), X.std(axis=0)
        scale = np.where(std > 0, std, 1.0)
        refined = synthetic.copy()
        self.generators_, g_losses, d_losses = [], [], []
        self.generated_classes_ = np.unique(synthetic_y)
        for i, label in enumerate(self.generated_classes_):
            rows = synthetic_y == label
            real = torch.as_tensor((X[y == label] - center) / scale, dtype=torch.float32)
            fake_in = torch.as_tensor((synthetic[rows] - center) / scale, dtype=torch.float32)
            with one_torch_thread():
                generator, g_loss, d_loss = self._train(real, fake_in, seed + 2 * i)
            with torch.no_grad():
                refined[rows] = (fake_in + generator(fake_in)).numpy() * scale + center
            self.generators_.append(generator)
            g_losses.append(g_loss)
            d_losses.append(d_loss)
        self.generator_loss_ = np.array(g_losses).reshape(len(self.generated_classes_), self.epochs)
        self.discriminator_loss_ = np.array(d_losses).reshape(len(self.generated_classes_), self.epochs)
        return np.vstack([X, refined]), y_resampled

    def _train(self, real: torch.Tensor, smote: torch.Tensor, seed: int):
        """Adversarial training of one residual generator; returns it (eval mode) and the loss curves."""
        n_features = real.shape[1]
        generator = seeded_mlp((n_features, *self.hidden, n_features), "leaky_relu", seed)
        nn.init.zeros_(generator[-1].weight)
        nn.init.zeros_(generator[-1].bias)
        discriminator = seeded_mlp((n_features, *self.hidden, 1), "leaky_relu", seed + 1)
        opt_g = torch.optim.Adam(generator.parameters(), lr=self.learning_rate, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=self.learning_rate, betas=(0.5, 0.999))
        bce = nn.functional.binary_cross_entropy_with_logits
        batches = torch.Generator().manual_seed(seed)
        g_curve, d_curve = np.empty(self.epochs), np.empty(self.epochs)
        for epoch in range(self.epochs):
            g_total = d_total = 0.0
            for rows in torch.randperm(len(smote), generator=batches).split(self.batch_size):
                s = smote[rows]
                real_batch = real[torch.randint(len(real), (len(rows),), generator=batches)]
                fake = s + generator(s)
                ones, zeros = torch.ones(len(rows), 1), torch.zeros(len(rows), 1)
                d_loss = bce(discriminator(real_batch), ones) + bce(discriminator(fake.detach()), zeros)
                opt_d.zero_grad()
                d_loss.backward()
                opt_d.step()
                g_loss = bce(discriminator(fake), ones)
                opt_g.zero_grad()
                g_loss.backward()
                opt_g.step()
                g_total += g_loss.item() * len(rows)
                d_total += d_loss.item() * len(rows)
            g_curve[epoch], d_curve[epoch] = g_total / len(smote), d_total / len(smote)
        return generator.eval(), g_curve, d_curve
