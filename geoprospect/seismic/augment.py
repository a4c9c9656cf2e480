"""Training-set augmentations for 3-component window detectors, in the SeisBench style.

Each augmentation is a small callable object: its parameters are set once, and a call
``augmentation(windows, labels, rng)`` returns *new* arrays ``(windows, labels)``; the inputs are never
modified and all randomness comes from the injected :class:`numpy.random.Generator`, so the same seed
gives the same training set. ``windows`` has shape (n, 3, n_samples) (components Z, N, E, as cut by
:func:`geoprospect.seismic.windows.cut_windows`) and ``labels`` shape (n,) with 1 for an event and 0 for
anything else (noise, transients).

Two kinds:

* per-window augmentations (:class:`RealNoise`, :class:`GaussianNoise`, :class:`ChannelDropout`,
  :class:`Gap`, :class:`AmplitudeScaling`, :class:`TimeShift`) alter each window with probability
  ``probability`` and return as many windows as they got; wrap one in :class:`Append` to train on the
  originals *and* the altered copies;
* set augmentations change the number of windows: :class:`HardNegatives` appends noise windows carrying
  a non-seismic transient (spike, step, tremor-like burst) labelled 0, and the rebalancers
  (:class:`RandomOversampler`, :class:`RandomUndersampler`, :class:`SMOTEOversampler`,
  :class:`GANOversampler`) even out the two classes.

Windows that leave an augmentation are peak-normalised again (largest absolute sample over the three
components = 1), as :func:`cut_windows` leaves them, so a detector sees the same value range whether a
window was augmented or not.

SeisBench (Woollam et al. 2022, Seismol. Res. Lett. 93(3)) set this style; the noise, gap and dropout
augmentations follow the ones surveyed by Mousavi and Beroza (2022, "Deep-learning seismology", Science
377) and used to train EQTransformer (Mousavi et al. 2020, Nat. Commun. 11).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.signal import butter, sosfiltfilt
from sklearn.neighbors import NearestNeighbors

from geoprospect.errors import InputError

Augmentation = Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]]
TRANSIENT_KINDS = ("spike", "step", "tremor")


def check_windows(windows, labels=None) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate a window stack (and labels); return them as float32 / int64 arrays.

    Raises
    ------
    ValueError
        ``windows`` is not (n, 3, n_samples) with n_samples > 1, holds NaN or infinite values, or
        ``labels`` is not (n,) of 0/1.
    """
    windows = np.asarray(windows)
    if windows.ndim != 3 or windows.shape[1] != 3 or windows.shape[2] < 2:
        raise ValueError(f"windows must have shape (n, 3, n_samples) (components Z, N, E), got {windows.shape}")
    if windows.dtype.kind not in "iuf":
        raise ValueError(f"windows must be numeric, got dtype {windows.dtype}")
    windows = windows.astype(np.float32, copy=False)
    if not np.isfinite(windows).all():
        raise ValueError(f"windows hold {np.count_nonzero(~np.isfinite(windows))} NaN or infinite values")
    if labels is None:
        return windows, None
    labels = np.asarray(labels)
    if labels.shape != (len(windows),):
        raise ValueError(f"labels must have shape ({len(windows)},) to match the windows, got {labels.shape}")
    if labels.dtype.kind not in "iub" or not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 (noise or transient) or 1 (event); convert text labels with "
                         "geoprospect.seismic.detectors.event_labels")
    return windows, labels.astype(np.int64)


def peak_normalise(windows: np.ndarray) -> np.ndarray:
    """Divide each window (n, 3, n_samples) by its largest absolute sample over all components (all-zero stays zero)."""
    peak = np.abs(windows).max(axis=(1, 2), keepdims=True)
    return (windows / np.where(peak > 0, peak, 1.0)).astype(np.float32)


def _snr_scale(signal: np.ndarray, noise: np.ndarray, snr_db: np.ndarray) -> np.ndarray:
    """Factor per window that puts ``noise`` at ``snr_db`` below ``signal``: 10 log10(sum s^2 / sum (a n)^2)."""
    signal_power = np.sum(signal.astype(np.float64) ** 2, axis=(1, 2))
    noise_power = np.sum(noise.astype(np.float64) ** 2, axis=(1, 2))
    return np.sqrt(signal_power / np.maximum(noise_power, 1e-30) / 10.0 ** (np.asarray(snr_db) / 10.0))


def _draw_range(rng: np.random.Generator, value, size: int) -> np.ndarray:
    """A fixed value, or uniform draws from a (low, high) range."""
    if np.ndim(value) == 0:
        return np.full(size, float(value))
    low, high = value
    return rng.uniform(low, high, size)


def _check_probability(probability: float) -> None:
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"probability must lie in [0, 1], got {probability}")


class _PerWindow:
    """Base of the per-window augmentations: alter each window with probability ``probability``."""

    def __init__(self, probability: float):
        _check_probability(probability)
        self.probability = probability

    def __call__(self, windows, labels, rng: np.random.Generator):
        windows, labels = check_windows(windows, labels)
        chosen = np.flatnonzero(rng.random(len(windows)) < self.probability)
        out = windows.copy()
        if chosen.size:
            out[chosen] = peak_normalise(self._alter(windows[chosen], rng))
        return out, labels.copy()

    def _alter(self, windows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self):
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not isinstance(v, np.ndarray))
        return f"{type(self).__name__}({params})"


class RealNoise(_PerWindow):
    """Superpose recorded noise windows at a chosen signal-to-noise ratio.

    The SNR is that of the whole window against the added noise, over the three components:
    ``snr_db = 10 log10(sum x^2 / sum (a n)^2)``, the definition of the demo's catalogue.

    Parameters
    ----------
    noise_windows : ndarray (m, 3, n_samples)
        Noise windows cut from real records (e.g. the ``noise`` windows of the training stations).
    snr_db : float or (float, float), default (0, 20)
        Target SNR, dB; a range draws one SNR per window, uniformly.
    probability : float, default 0.5
    """

    def __init__(self, noise_windows, snr_db=(0.0, 20.0), probability: float = 0.5):
        super().__init__(probability)
        noise_windows, _ = check_windows(noise_windows)
        if not np.any(noise_windows):
            raise ValueError("noise_windows are all zeros")
        self.noise_windows = noise_windows
        self.snr_db = snr_db

    def _alter(self, windows, rng):
        if windows.shape[2] != self.noise_windows.shape[2]:
            raise ValueError(f"noise windows have {self.noise_windows.shape[2]} samples, the windows {windows.shape[2]}")
        noise = self.noise_windows[rng.integers(len(self.noise_windows), size=len(windows))]
        scale = _snr_scale(windows, noise, _draw_range(rng, self.snr_db, len(windows)))
        return windows + scale[:, None, None] * noise


class GaussianNoise(_PerWindow):
    """Add white Gaussian noise at a chosen signal-to-noise ratio (same definition as :class:`RealNoise`).

    Parameters
    ----------
    snr_db : float or (float, float), default (5, 30)
    probability : float, default 0.5
    """

    def __init__(self, snr_db=(5.0, 30.0), probability: float = 0.5):
        super().__init__(probability)
        self.snr_db = snr_db

    def _alter(self, windows, rng):
        noise = rng.standard_normal(windows.shape)
        scale = _snr_scale(windows, noise, _draw_range(rng, self.snr_db, len(windows)))
        return windows + scale[:, None, None] * noise


class ChannelDropout(_PerWindow):
    """Zero one or two of the three components (a dead or unplugged channel).

    Parameters
    ----------
    probability : float, default 0.2
    """

    def __init__(self, probability: float = 0.2):
        super().__init__(probability)

    def _alter(self, windows, rng):
        out = windows.copy()
        for window in out:
            window[rng.permutation(3)[: rng.integers(1, 3)]] = 0.0
        return out


class KeepComponents(_PerWindow):
    """Zero every component but the named ones: a three-component window seen as a single- or
    two-component station's (channel dropout by layout, so one model scores every layout).

    Parameters
    ----------
    components : str, e.g. ``"Z"`` or ``"ZN"``
        Components kept, from Z, N, E.
    probability : float, default 1.0
    """

    def __init__(self, components: str = "Z", probability: float = 1.0):
        super().__init__(probability)
        if not components or set(components) - set("ZNE"):
            raise ValueError(f"components must be letters of ZNE, got {components!r}")
        self.components = components

    def _alter(self, windows, rng):
        out = windows.copy()
        out[:, [i for i, c in enumerate("ZNE") if c not in self.components]] = 0.0
        return out


class Gap(_PerWindow):
    """Zero a contiguous stretch of all components (a telemetry gap filled with zeros by the acquisition).

    Parameters
    ----------
    max_fraction : float, default 0.3
        Longest gap, as a fraction of the window length; lengths are drawn uniformly up to it.
    probability : float, default 0.2
    """

    def __init__(self, max_fraction: float = 0.3, probability: float = 0.2):
        super().__init__(probability)
        if not 0.0 < max_fraction < 1.0:
            raise ValueError(f"max_fraction must lie in (0, 1), got {max_fraction}")
        self.max_fraction = max_fraction

    def _alter(self, windows, rng):
        out = windows.copy()
        n_samples = windows.shape[2]
        for window in out:
            length = int(rng.integers(1, max(2, int(self.max_fraction * n_samples) + 1)))
            start = int(rng.integers(0, n_samples - length + 1))
            window[:, start:start + length] = 0.0
        return out


class AmplitudeScaling(_PerWindow):
    """Scale each component by its own factor (gain mismatch between channels).

    A common factor would be undone by the peak normalisation, so the factors differ per component:
    log-uniform in ``[1 / max_factor, max_factor]``.

    Parameters
    ----------
    max_factor : float, default 2.0
    probability : float, default 0.5
    """

    def __init__(self, max_factor: float = 2.0, probability: float = 0.5):
        super().__init__(probability)
        if max_factor < 1.0:
            raise ValueError(f"max_factor must be >= 1, got {max_factor}")
        self.max_factor = max_factor

    def _alter(self, windows, rng):
        log_factor = rng.uniform(-np.log(self.max_factor), np.log(self.max_factor), size=(len(windows), 3, 1))
        return windows * np.exp(log_factor)


class TimeShift(_PerWindow):
    """Shift windows circularly in time, so arrivals do not always sit at the same place.

    Parameters
    ----------
    max_fraction : float, default 0.2
        Largest shift, either way, as a fraction of the window length (kept small so an event's
        arrivals stay in the window, wrapped coda excepted).
    probability : float, default 0.5
    """

    def __init__(self, max_fraction: float = 0.2, probability: float = 0.5):
        super().__init__(probability)
        if not 0.0 < max_fraction < 1.0:
            raise ValueError(f"max_fraction must lie in (0, 1), got {max_fraction}")
        self.max_fraction = max_fraction

    def _alter(self, windows, rng):
        limit = int(self.max_fraction * windows.shape[2])
        shifts = rng.integers(-limit, limit + 1, size=len(windows))
        return np.stack([np.roll(window, shift, axis=-1) for window, shift in zip(windows, shifts)])


class HardNegatives:
    """Append noise windows carrying a non-seismic transient, labelled 0.

    Copies of randomly drawn label-0 windows receive one transient each, scaled to the window's RMS:

    * ``spike``: one to three samples on one component, 20-200 times the RMS (a digitiser glitch);
    * ``step``: a lasting offset on one component from a random onset, 5-50 times the RMS (mass
      re-centring, a digitiser reset);
    * ``tremor``: a band-limited 2-5 Hz burst under a Hann envelope lasting 30-60 % of the window on
      all three components, 2-10 times the RMS (machinery, wind, cultural tremor).

    Parameters
    ----------
    sampling_rate_hz : float
        Sampling rate of the windows, Hz (sets the tremor's carrier frequency).
    fraction : float, default 0.3
        Number of windows appended, as a fraction of the label-0 windows (at least one).
    kinds : sequence of {"spike", "step", "tremor"}, default all three
        Drawn with equal probability.
    """

    def __init__(self, sampling_rate_hz: float, fraction: float = 0.3, kinds: Sequence[str] = TRANSIENT_KINDS):
        if sampling_rate_hz < 12.0:
            raise ValueError(f"sampling_rate_hz must be at least 12 Hz to hold a 2-5 Hz tremor, got {sampling_rate_hz}")
        if fraction <= 0:
            raise ValueError(f"fraction must be > 0, got {fraction}")
        unknown = sorted(set(kinds) - set(TRANSIENT_KINDS))
        if unknown or not kinds:
            raise ValueError(f"unknown transient kind(s) {unknown}; use some of {', '.join(TRANSIENT_KINDS)}")
        self.sampling_rate_hz = sampling_rate_hz
        self.fraction = fraction
        self.kinds = tuple(kinds)

    def __call__(self, windows, labels, rng: np.random.Generator):
        windows, labels = check_windows(windows, labels)
        negatives = np.flatnonzero(labels == 0)
        if negatives.size == 0:
            raise ValueError("HardNegatives needs label-0 (noise) windows to carry the transients")
        chosen = rng.choice(negatives, size=max(1, int(round(self.fraction * negatives.size))))
        new = np.stack([self._transient(windows[i], rng) for i in chosen])
        return (np.concatenate([windows, peak_normalise(new)]),
                np.concatenate([labels, np.zeros(len(new), dtype=np.int64)]))

    def _transient(self, window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = window.astype(np.float64)
        n_samples = window.shape[1]
        rms = float(np.sqrt(np.mean(out**2))) or 1.0
        kind = self.kinds[rng.integers(len(self.kinds))]
        component = int(rng.integers(3))
        sign = rng.choice([-1.0, 1.0])
        if kind == "spike":
            onset = int(rng.integers(0, n_samples - 3))
            out[component, onset:onset + int(rng.integers(1, 4))] += sign * rng.uniform(20.0, 200.0) * rms
        elif kind == "step":
            onset = int(rng.integers(n_samples // 10, n_samples - n_samples // 10))
            out[component, onset:] += sign * rng.uniform(5.0, 50.0) * rms
        else:
            length = int(rng.uniform(0.3, 0.6) * n_samples)
            onset = int(rng.integers(0, n_samples - length + 1))
            carrier_hz = rng.uniform(2.0, 5.0)
            sos = butter(2, (carrier_hz - 0.5, carrier_hz + 0.5), btype="bandpass", fs=self.sampling_rate_hz, output="sos")
            burst = sosfiltfilt(sos, rng.standard_normal((3, length)), axis=-1) * np.hanning(length)
            out[:, onset:onset + length] += rng.uniform(2.0, 10.0) * rms * burst / np.sqrt(np.mean(burst**2))
        return out

    def __repr__(self):
        return f"HardNegatives(sampling_rate_hz={self.sampling_rate_hz}, fraction={self.fraction}, kinds={self.kinds})"


def _class_counts(labels: np.ndarray) -> tuple[int, int]:
    """(minority label, majority label); raises if a class is missing."""
    counts = np.bincount(labels, minlength=2)
    if counts.min() == 0:
        raise ValueError(f"rebalancing needs both classes; got {counts[0]} noise and {counts[1]} event windows")
    minority = int(np.argmin(counts))
    return minority, 1 - minority


class RandomOversampler:
    """Repeat randomly drawn windows of the smaller class until both classes are the same size."""

    def __call__(self, windows, labels, rng: np.random.Generator):
        windows, labels = check_windows(windows, labels)
        minority, majority = _class_counts(labels)
        extra = rng.choice(np.flatnonzero(labels == minority),
                           size=np.count_nonzero(labels == majority) - np.count_nonzero(labels == minority))
        keep = np.concatenate([np.arange(len(labels)), extra])
        return windows[keep], labels[keep]

    def __repr__(self):
        return "RandomOversampler()"


class RandomUndersampler:
    """Keep a random subset of the larger class the size of the smaller one (original order kept)."""

    def __call__(self, windows, labels, rng: np.random.Generator):
        windows, labels = check_windows(windows, labels)
        minority, majority = _class_counts(labels)
        kept = rng.choice(np.flatnonzero(labels == majority), size=np.count_nonzero(labels == minority), replace=False)
        keep = np.sort(np.concatenate([np.flatnonzero(labels == minority), kept]))
        return windows[keep], labels[keep]

    def __repr__(self):
        return "RandomUndersampler()"


def envelope_features(windows: np.ndarray, n_bins: int = 30) -> np.ndarray:
    """Log RMS envelope of each component in ``n_bins`` time bins: shape (n, 3 * n_bins).

    A waveform's phase is random but its energy envelope is not: two event windows with their arrivals
    in the same place are close here even when their samples are uncorrelated.
    """
    n, _, n_samples = windows.shape
    n_bins = min(n_bins, n_samples)
    edges = np.linspace(0, n_samples, n_bins + 1).astype(int)
    power = np.add.reduceat(windows.astype(np.float64) ** 2, edges[:-1], axis=2) / np.diff(edges)
    return np.log10(power + 1e-12).reshape(n, 3 * n_bins)


class SMOTEOversampler:
    """SMOTE (Chawla et al. 2002) for windows: neighbours found on envelope features, new windows interpolated.

    Each new window of the smaller class is ``x_i + u (x_j - x_i)``, ``u ~ U(0, 1)``, where ``x_j`` is one
    of the ``k_neighbors`` nearest neighbours of ``x_i`` in the space of :func:`envelope_features`
    (time-binned log energy), so windows with arrivals in similar places are mixed; interpolating
    waveforms chosen by raw-sample distance would pair windows at random.

    Parameters
    ----------
    k_neighbors : int, default 5
        Capped at the class size minus one.
    n_bins : int, default 30
        Time bins of the envelope features.
    """

    def __init__(self, k_neighbors: int = 5, n_bins: int = 30):
        if k_neighbors < 1 or n_bins < 1:
            raise ValueError("k_neighbors and n_bins must be >= 1")
        self.k_neighbors = k_neighbors
        self.n_bins = n_bins

    def __call__(self, windows, labels, rng: np.random.Generator):
        windows, labels = check_windows(windows, labels)
        minority, majority = _class_counts(labels)
        rows = np.flatnonzero(labels == minority)
        n_new = np.count_nonzero(labels == majority) - rows.size
        if rows.size < 2:
            raise ValueError("SMOTE needs at least 2 windows of the smaller class")
        k = min(self.k_neighbors, rows.size - 1)
        features = envelope_features(windows[rows], self.n_bins)
        neighbours = NearestNeighbors(n_neighbors=k + 1).fit(features).kneighbors(features, return_distance=False)[:, 1:]
        base = rng.integers(rows.size, size=n_new)
        partner = neighbours[base, rng.integers(k, size=n_new)]
        u = rng.random((n_new, 1, 1)).astype(np.float32)
        new = windows[rows[base]] + u * (windows[rows[partner]] - windows[rows[base]])
        return (np.concatenate([windows, peak_normalise(new)]),
                np.concatenate([labels, np.full(n_new, minority, dtype=np.int64)]))

    def __repr__(self):
        return f"SMOTEOversampler(k_neighbors={self.k_neighbors}, n_bins={self.n_bins})"


class GANOversampler:
    """Even out the classes with the SMOTified-GAN of :mod:`geoprospect.models.gan` on flattened windows.

    SMOTE draws the new windows (neighbours by sample distance, in the flattened window space) and a
    small residual GAN (Sharma et al. 2022) refines them towards the real windows of the smaller class.

    Parameters
    ----------
    epochs : int, default 20
    hidden : tuple of int, default (64, 64)
    k_neighbors : int, default 5
    """

    def __init__(self, epochs: int = 20, hidden: tuple[int, ...] = (64, 64), k_neighbors: int = 5):
        self.epochs = epochs
        self.hidden = hidden
        self.k_neighbors = k_neighbors

    def __call__(self, windows, labels, rng: np.random.Generator):
        from geoprospect.models.gan import SMOTifiedGAN  # torch and imbalanced-learn only when used

        windows, labels = check_windows(windows, labels)
        _class_counts(labels)
        n, _, n_samples = windows.shape
        sampler = SMOTifiedGAN(k_neighbors=self.k_neighbors, hidden=self.hidden, epochs=self.epochs,
                               random_state=int(rng.integers(np.iinfo(np.int32).max)))
        flat, resampled = sampler.fit_resample(windows.reshape(n, -1), labels)
        new = peak_normalise(np.asarray(flat[n:], dtype=np.float32).reshape(-1, 3, n_samples))
        return np.concatenate([windows, new]), np.asarray(resampled, dtype=np.int64)

    def __repr__(self):
        return f"GANOversampler(epochs={self.epochs}, hidden={self.hidden}, k_neighbors={self.k_neighbors})"


class Append:
    """Return the original windows followed by an augmented copy (``augmentation``'s output)."""

    def __init__(self, augmentation: Augmentation):
        self.augmentation = augmentation

    def __call__(self, windows, labels, rng: np.random.Generator):
        windows, labels = check_windows(windows, labels)
        more, more_labels = self.augmentation(windows, labels, rng)
        return np.concatenate([windows, more]), np.concatenate([labels, more_labels])

    def __repr__(self):
        return f"Append({self.augmentation!r})"


class Compose:
    """Apply augmentations in turn, each to the previous one's output, with one generator."""

    def __init__(self, augmentations: Sequence[Augmentation]):
        self.augmentations = list(augmentations)

    def __call__(self, windows, labels, rng: np.random.Generator):
        windows, labels = check_windows(windows, labels)
        for augmentation in self.augmentations:
            windows, labels = augmentation(windows, labels, rng)
        return windows, labels

    def __repr__(self):
        return f"Compose({self.augmentations!r})"


AUGMENTATIONS: dict[str, type] = {
    "real_noise": RealNoise,
    "gaussian_noise": GaussianNoise,
    "channel_dropout": ChannelDropout,
    "gap": Gap,
    "amplitude_scaling": AmplitudeScaling,
    "time_shift": TimeShift,
    "hard_negatives": HardNegatives,
    "random_oversampling": RandomOversampler,
    "random_undersampling": RandomUndersampler,
    "smote": SMOTEOversampler,
    "gan": GANOversampler,
}


def make_augmentation(name: str, source: str = "augmentations", **params) -> Augmentation:
    """Build an augmentation from its registry name (``AUGMENTATIONS``) and parameters.

    Parameters
    ----------
    name : str
        One of the keys of ``AUGMENTATIONS``, e.g. ``"gaussian_noise"``.
    source : str
        Where the name came from (a catalog key), named in the error.
    **params
        Passed to the augmentation's constructor.

    Raises
    ------
    InputError
        An unknown name, or parameters the augmentation does not take.
    """
    if name not in AUGMENTATIONS:
        raise InputError(source, f"unknown augmentation {name!r}", f"use one of {', '.join(AUGMENTATIONS)}")
    try:
        return AUGMENTATIONS[name](**params)
    except TypeError as exc:
        raise InputError(source, f"augmentation {name!r} does not take these parameters ({exc})",
                         f"see the docstring of {AUGMENTATIONS[name].__name__}") from None
