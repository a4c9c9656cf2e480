"""Unsupervised lithological units where no labels exist: autoencoder codes clustered by k-means.

Each pixel's bands are standardised, compressed by a stacked autoencoder
(:class:`geoprospect.models.autoencoder.AutoencoderEmbedding`; Hinton and Salakhutdinov 2006) and
the codes clustered by k-means, after the EarthByte group's autoencoder work on remote sensing for
lithological mapping in unlabelled areas. Clusters are spectral units, not named lithologies: a
geologist names them afterwards.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from geoprospect.errors import InputError
from geoprospect.models.autoencoder import AutoencoderEmbedding
from geoprospect.nn import check_positive_int, one_torch_thread


class AutoencoderClusters(ClusterMixin, TransformerMixin, BaseEstimator):
    """Per-band standardisation -> stacked autoencoder -> k-means, labels 1..n_clusters.

    Labels are numbered by the clusters' mean spectra (ascending mean of the first band, ties broken
    by the next bands), so identical inputs and ``random_state`` give identical maps, and 0 stays
    free for nodata.

    Parameters
    ----------
    n_clusters : int, default=5
        Number of spectral units (at least 2).
    n_components : int, default=3
        Size of the autoencoder's code.
    hidden : tuple of int, default=(16, 8)
        Encoder hidden widths.
    epochs, batch_size, learning_rate, activation
        Autoencoder training, as in :class:`AutoencoderEmbedding`.
    n_init : int, default=10
        k-means restarts.
    random_state : int, RandomState or None
        Seeds the autoencoder and k-means.

    Attributes
    ----------
    scaler_ : StandardScaler
        Per-band mean and SD of the training pixels.
    autoencoder_ : AutoencoderEmbedding
    cluster_centers_ : ndarray (n_clusters, n_components)
        Centroids in code space; row ``k`` is label ``k + 1``.
    cluster_band_means_ : ndarray (n_clusters, n_bands)
        Mean training spectrum of each label (input units).
    labels_ : ndarray (n_pixels,)
        Labels of the training pixels.
    n_features_in_ : int
    """

    def __init__(self, n_clusters=5, n_components=3, hidden=(16, 8), epochs=30, batch_size=256, learning_rate=3e-3,
                 activation="tanh", n_init=10, random_state=None):
        self.n_clusters = n_clusters
        self.n_components = n_components
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.activation = activation
        self.n_init = n_init
        self.random_state = random_state

    def fit(self, X, y=None):
        """Fit on ``X`` (n_pixels, n_bands) of valid pixels (no NaN); ``y`` is ignored."""
        X = _finite(self, X, reset=True)
        check_positive_int(self.n_init, "n_init")
        if not isinstance(self.n_clusters, Integral) or self.n_clusters < 2:
            raise ValueError(f"n_clusters must be an integer >= 2, got {self.n_clusters!r}")
        if len(X) < self.n_clusters:
            raise InputError("X", f"{len(X)} pixels for {self.n_clusters} clusters", "sample more valid pixels")
        rng = check_random_state(self.random_state)
        ae_seed, kmeans_seed = (int(s) for s in rng.randint(np.iinfo(np.int32).max, size=2))
        self.scaler_ = StandardScaler().fit(X)
        self.autoencoder_ = AutoencoderEmbedding(
            n_components=self.n_components, hidden=self.hidden, epochs=self.epochs, batch_size=self.batch_size,
            learning_rate=self.learning_rate, activation=self.activation, random_state=ae_seed)
        with one_torch_thread():
            codes = self.autoencoder_.fit_transform(self.scaler_.transform(X))
        kmeans = KMeans(self.n_clusters, n_init=self.n_init, random_state=kmeans_seed).fit(codes)
        means = np.stack([X[kmeans.labels_ == k].mean(axis=0) for k in range(self.n_clusters)])
        order = np.lexsort(means.T[::-1])  # primary key: the first band
        rank = np.empty(self.n_clusters, dtype=int)
        rank[order] = np.arange(self.n_clusters)
        self.cluster_centers_ = kmeans.cluster_centers_[order]
        self.cluster_band_means_ = means[order]
        self.labels_ = rank[kmeans.labels_] + 1
        return self

    def transform(self, X):
        """Autoencoder codes of ``X`` (n_pixels, n_bands): (n_pixels, n_components)."""
        check_is_fitted(self)
        X = _finite(self, X, reset=False)
        return self.autoencoder_.transform(self.scaler_.transform(X))

    def predict(self, X):
        """Labels 1..n_clusters (int) of ``X`` (n_pixels, n_bands): the nearest centroid in code space."""
        return self.predict_confidence(X)[0]

    def predict_confidence(self, X):
        """Labels and confidence of ``X`` (n_pixels, n_bands).

        Returns
        -------
        labels : ndarray (n_pixels,) of int
            1..n_clusters.
        confidence : ndarray (n_pixels,) of float
            ``1 - d1 / d2`` with ``d1``, ``d2`` the Euclidean code-space distances to the nearest and
            second-nearest centroids: 1 at a centroid, 0 on the boundary between two clusters.
        """
        codes = self.transform(X)
        distance = np.linalg.norm(codes[:, None, :] - self.cluster_centers_[None], axis=2)
        nearest = np.partition(distance, 1, axis=1)
        confidence = 1 - np.divide(nearest[:, 0], nearest[:, 1], out=np.zeros(len(codes)), where=nearest[:, 1] > 0)
        return np.argmin(distance, axis=1) + 1, confidence


def _finite(model: AutoencoderClusters, X, reset: bool) -> np.ndarray:
    X = validate_data(model, X, dtype=np.float64, ensure_all_finite=False, reset=reset)
    if not np.isfinite(X).all():
        raise InputError("X", f"{int((~np.isfinite(X)).any(axis=1).sum())} pixel(s) with NaN or infinite bands",
                         "pass valid pixels only (sample_pixels drops the rest; cluster_image masks them)")
    return X


def sample_pixels(image, max_pixels: int = 20_000, random_state=None) -> np.ndarray:
    """A uniform random sample of the valid pixels of a (bands, y, x) image, for fitting (reads the whole image).

    Parameters
    ----------
    image : array-like (n_bands, H, W)
        NaN marks missing values; a pixel with NaN in any band is invalid.
    max_pixels : int
        Sample size (all valid pixels when there are fewer).
    random_state : int, RandomState or None

    Returns
    -------
    ndarray (n, n_bands)
    """
    pixels = np.asarray(image, dtype=np.float64).reshape(np.shape(image)[0], -1).T
    valid = np.flatnonzero(np.isfinite(pixels).all(axis=1))
    if not len(valid):
        raise InputError("image", "no valid pixel (every pixel has a NaN band)", "check the scene's nodata and extent")
    rng = check_random_state(random_state)
    keep = np.sort(rng.choice(valid, size=min(max_pixels, len(valid)), replace=False))
    return pixels[keep]


def cluster_image(model: AutoencoderClusters, image, block_rows: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Cluster labels and confidence of every pixel of a (bands, y, x) image, a block of rows at a time.

    Memory is bounded by one block (``block_rows * W`` pixels) beyond the two outputs; a lazy
    (dask or xarray) image is read block by block.

    Parameters
    ----------
    model : AutoencoderClusters
        Fitted on the same bands, in the same order and units.
    image : array-like (n_bands, H, W)
        NaN marks missing values; a pixel with NaN in any band is invalid.
    block_rows : int
        Rows per block.

    Returns
    -------
    labels : ndarray (H, W) of float32
        1..n_clusters, NaN where the pixel is invalid.
    confidence : ndarray (H, W) of float32
        ``1 - d1 / d2`` (see :meth:`AutoencoderClusters.predict_confidence`), NaN where invalid.
    """
    check_is_fitted(model)
    check_positive_int(block_rows, "block_rows")
    if len(np.shape(image)) != 3 or np.shape(image)[0] != model.n_features_in_:
        raise InputError("image", f"shape {np.shape(image)}, expected ({model.n_features_in_}, H, W)",
                         "pass the bands the model was fitted on, as (band, y, x)")
    n_bands, height, width = np.shape(image)
    labels = np.full((height, width), np.nan, dtype=np.float32)
    confidence = np.full((height, width), np.nan, dtype=np.float32)
    for start in range(0, height, block_rows):
        rows = slice(start, min(start + block_rows, height))
        pixels = np.asarray(image[:, rows], dtype=np.float64).reshape(n_bands, -1).T
        valid = np.isfinite(pixels).all(axis=1)
        if valid.any():
            block_labels, block_confidence = np.full(len(pixels), np.nan), np.full(len(pixels), np.nan)
            block_labels[valid], block_confidence[valid] = model.predict_confidence(pixels[valid])
            labels[rows] = block_labels.reshape(-1, width)
            confidence[rows] = block_confidence.reshape(-1, width)
    return labels, confidence
