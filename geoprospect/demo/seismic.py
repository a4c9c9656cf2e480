"""Synthetic 3-component seismic records of a small local network, with a labelled truth.

Each station records coloured, non-stationary background noise (a red rise below 1 Hz, a
secondary-microseism peak near 0.2 Hz whose level drifts, cultural noise near a few Hz that waxes and
wanes, a machinery line, a white instrument floor, unlabelled passing-vehicle bursts and one-sample
glitches), local and regional earthquakes (2-120 km) and a few labelled non-seismic transients (a
spike, a step, a tremor-like burst). The truth is written beside the MiniSEED files: a catalogue of
arrivals and a table of labelled windows, so that a detector trained on the windows can be scored
exactly. The aim is a demo on which a detector learns what transfers to real records (issue 23).

Physics, kept deliberately simple but in the right proportions:

* Travel times in a homogeneous crust (``VP_KM_S``, ``VS_KM_S``) from the hypocentral distance, so
  the S-P time grows with distance (0.5-15 s) and events show moveout across the network.
* Epicentral distances log-uniform over ``EPICENTRE_KM``; magnitudes grow with distance (the distance
  term of the relation below plus ``MAGNITUDE_ABOVE``), as in a real catalogue, where far events
  are only recorded when they are larger.
* Peak S amplitude from the local-magnitude relation of Hutton and Boore (1987, BSSA 77(6)),
  ``ML = log10 A + 1.110 log10(r / 100) + 0.00189 (r - 100) + 3.0`` with ``A`` in mm on a Wood-Anderson
  seismometer (gain 2080), converted to ground velocity at the phase's dominant frequency; P peaks are
  3-6 times smaller than S (double-couple average, about (Vp/Vs)^3 / 2).
* Spectra: Brune (1970) omega-square source with the corner frequency of a 3 MPa stress drop (P corner
  1.5 times the S one) times ``exp(-pi f t*)``, ``t* = travel time / Q + kappa`` (Q_S 250, Q_P 1.75 Q_S,
  site kappa 0.01-0.04 s per station): small near events are rich in high frequencies, large far ones
  peak at 1-3 Hz.
* Envelopes: onsets grow emergent with distance; codas decay exponentially over the signal duration
  of the duration magnitude (Lee et al. 1972), from about 5 s at M 0.5 to about a minute at M 3.
* P motion is rectilinear along the ray (mostly vertical at the steep incidence of a low-velocity
  surface layer); SV and SH lie across the ray, so S is largest on the horizontals.

The signal-to-noise ratio of each arrival is measured on the truth before mixing:
``snr_db = 10 log10(sum s^2 / sum n^2)`` over the three components, both the noise-free signal ``s``
and the noise ``n`` band-passed 1-20 Hz (zero-phase Butterworth, order 4), over ``[P, S + 5 s]`` for an
event and over the active span of a transient. Noise windows carry no SNR (empty).

Data are ground velocity in integer counts, ``GAIN_COUNTS_PER_M_S`` counts per m/s (1 count = 1 nm/s),
int32 STEIM2-compressed MiniSEED: about 2 MB for the default four stations and 30 minutes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from obspy import Stream, Trace, UTCDateTime
from scipy.ndimage import uniform_filter1d
from scipy.signal import butter, sosfilt, sosfiltfilt

from geoprospect.io.files import atomic_path

NETWORK = "GP"
CHANNELS = ("HHZ", "HHN", "HHE")
START_TIME = UTCDateTime("2024-03-01T00:00:00")
GAIN_COUNTS_PER_M_S = 1.0e9  # 1 count = 1 nm/s; the written data are np.rint(velocity_m_s * gain)
VP_KM_S = 6.0
VS_KM_S = VP_KM_S / 1.73
Q_S = 250.0
Q_P = 1.75 * Q_S  # Q_P / Q_S about 1.5-2 in the crust
KAPPA_RANGE_S = (0.01, 0.04)  # site attenuation (Anderson and Hough 1984), per station
WOOD_ANDERSON_GAIN = 2080.0
BAND_HZ = (1.0, 20.0)
EVENT_SPACING_S = 150.0  # one event per this many seconds of record
TRANSIENT_KINDS = ("spike", "step", "tremor")
EPICENTRE_KM = (2.0, 120.0)  # epicentral distance from the network centre, drawn log-uniform
MAGNITUDE_ABOVE = (0.6, 2.0)  # magnitude above the distance term of Hutton and Boore's relation at 10 km:
# near and far events then reach the stations with SNRs spanning about -5 to +30 dB
SNR_TAIL_S = 5.0  # the event SNR window runs from P to S + this


def write_waveforms(
    out_dir: Path,
    rng: np.random.Generator,
    n_stations: int = 4,
    duration_s: float = 1800.0,
    sampling_rate_hz: float = 100.0,
    window_s: float = 30.0,
) -> dict[str, Path | list[Path]]:
    """Write synthetic continuous records, their event catalogue and labelled windows.

    Parameters
    ----------
    out_dir : Path
        Folder to write into (created if missing).
    rng : numpy.random.Generator
        The only source of randomness: the same seed gives the same files, byte for byte.
    n_stations : int
        Number of stations, codes ``ST01``, ``ST02``... in network ``GP``, scattered over 20 x 20 km
        (epicentres fall within 40 x 40 km around them, 3-15 km deep).
    duration_s : float
        Length of each continuous record, s (at least ``EVENT_SPACING_S``).
    sampling_rate_hz : float
        Sampling rate, Hz (at least 50, so the 1-20 Hz band is resolved).
    window_s : float
        Length of every labelled window, s, 25-40 (room for a tremor burst; an event window must fit
        in its event's slot).

    Returns
    -------
    dict
        ``waveforms``: list of MiniSEED paths, one per station (``GP.ST01.mseed``: channels HHZ, HHN,
        HHE, int32 counts, see ``GAIN_COUNTS_PER_M_S``). ``events``: ``events.csv``, one row per event
        and station: event_id, origin_time, magnitude (ML), depth_km, network, station, distance_km
        (hypocentral), back_azimuth_deg, p_arrival_time, s_arrival_time, snr_db (times ISO 8601 UTC).
        ``windows``: ``windows.csv``: network, station, start_time, end_time, window_s, label
        (``event``/``noise``/``transient``), snr_db (empty for noise), event_id, transient_kind.
        Event windows contain the P and S arrivals (P 2-8 s after the start); windows never overlap
        one another, and noise windows hold no event or transient energy.
    """
    if duration_s < EVENT_SPACING_S:
        raise ValueError(f"duration_s must be at least {EVENT_SPACING_S} s to hold one event")
    if not 25.0 <= window_s <= 40.0:
        raise ValueError("window_s must lie between 25 and 40 s")
    if sampling_rate_hz < 50.0:
        raise ValueError("sampling_rate_hz must be at least 50 Hz to resolve the 1-20 Hz band")
    out_dir = Path(out_dir)
    fs = float(sampling_rate_hz)
    n = int(round(duration_s * fs))
    stations = [f"ST{i + 1:02d}" for i in range(n_stations)]
    station_xy_km = rng.uniform(-10.0, 10.0, size=(n_stations, 2))
    kappa_s = rng.uniform(*KAPPA_RANGE_S, size=n_stations)
    band_sos = butter(4, BAND_HZ, btype="bandpass", fs=fs, output="sos")

    noise = np.stack([_background_noise(rng, n, fs) for _ in stations])  # (station, component, time), nm/s
    noise_band = sosfiltfilt(band_sos, noise, axis=-1)
    signal = np.zeros_like(noise)
    busy: list[list[tuple[float, float]]] = [[] for _ in stations]  # per station: spans no noise window may touch
    windows: list[dict] = []
    arrivals: list[dict] = []

    n_events = int(duration_s // EVENT_SPACING_S)
    slot_s = duration_s / n_events
    for k in range(n_events):
        origin_s = k * slot_s + rng.uniform(10.0, slot_s - 50.0)
        radius_km = float(np.exp(rng.uniform(*np.log(EPICENTRE_KM))))
        bearing = rng.uniform(0.0, 2.0 * np.pi)
        epicentre_km = radius_km * np.array([np.sin(bearing), np.cos(bearing)])
        far_km = max(radius_km, 10.0)  # the network spans 20 km: no event is much nearer than 10 km to most stations
        magnitude = 1.110 * np.log10(far_km / 10.0) + 0.00189 * (far_km - 10.0) + rng.uniform(*MAGNITUDE_ABOVE)
        depth_km = rng.uniform(3.0, 15.0)
        event_id = f"ev{k + 1:04d}"
        for s, station in enumerate(stations):
            dx_km, dy_km = station_xy_km[s] - epicentre_km  # x east, y north
            distance_km = float(np.sqrt(dx_km**2 + dy_km**2 + depth_km**2))
            azimuth_rad = np.arctan2(dx_km, dy_km)  # event -> station, clockwise from north
            p_s = _on_grid(origin_s + distance_km / VP_KM_S, fs)
            s_s = _on_grid(origin_s + distance_km / VS_KM_S, fs)
            motion, end_s = _event_motion(rng, fs, magnitude, distance_km, azimuth_rad, s_s - p_s, kappa_s[s])
            i0 = int(round(p_s * fs))
            signal[s, :, i0:i0 + motion.shape[1]] += motion[:, : n - i0]
            snr_db = _snr_db(motion, noise_band[s], i0, int(round((s_s + SNR_TAIL_S - p_s) * fs)), band_sos)
            start_s = _on_grid(p_s - rng.uniform(2.0, 8.0), fs)
            busy[s].append((min(start_s, p_s - 1.0), max(start_s + window_s, p_s + end_s + 2.0)))
            windows.append(dict(station=station, start_s=start_s, label="event", snr_db=snr_db,
                                event_id=event_id, transient_kind=""))
            arrivals.append(dict(event_id=event_id, origin_time=_iso(origin_s), magnitude=round(magnitude, 2),
                                 depth_km=round(depth_km, 3), network=NETWORK, station=station,
                                 distance_km=round(distance_km, 3),
                                 back_azimuth_deg=round(float(np.degrees(azimuth_rad) + 180.0) % 360.0, 2),
                                 p_arrival_time=_iso(p_s), s_arrival_time=_iso(s_s), snr_db=round(snr_db, 2)))

    for s, station in enumerate(stations):
        in_band_rms = float(np.sqrt(np.mean(noise_band[s] ** 2)))
        n_transients = max(1, int(round(duration_s / 600.0)))
        for kind in [TRANSIENT_KINDS[j % len(TRANSIENT_KINDS)] for j in rng.permutation(n_transients)]:
            placed = _place_transient(rng, kind, fs, n, window_s, busy[s], in_band_rms)
            if placed is None:  # the record is too full: fewer transients rather than overlapping labels
                continue
            start_s, onset_s, motion, span_s = placed
            i0 = int(round(onset_s * fs))
            signal[s, :, i0:i0 + motion.shape[1]] += motion[:, : n - i0]
            snr_db = _snr_db(motion, noise_band[s], i0, int(round(span_s * fs)), band_sos)
            busy[s].append((start_s, start_s + window_s))
            windows.append(dict(station=station, start_s=start_s, label="transient", snr_db=snr_db,
                                event_id="", transient_kind=kind))

    for s, station in enumerate(stations):  # noise windows tile the record where nothing happens
        for start_s in np.arange(0.0, duration_s - window_s + 1e-9, window_s):
            if not _overlaps(start_s, start_s + window_s, busy[s]):
                windows.append(dict(station=station, start_s=float(start_s), label="noise", snr_db=np.nan,
                                    event_id="", transient_kind=""))

    out_dir.mkdir(parents=True, exist_ok=True)
    counts = np.rint((noise + signal) * (GAIN_COUNTS_PER_M_S * 1e-9)).astype(np.int32)
    paths = [_write_station(out_dir / f"{NETWORK}.{station}.mseed", station, counts[s], fs)
             for s, station in enumerate(stations)]
    return {"waveforms": paths, "events": _write_events(out_dir / "events.csv", arrivals),
            "windows": _write_windows(out_dir / "windows.csv", windows, window_s)}


def _background_noise(rng: np.random.Generator, n: int, fs: float) -> np.ndarray:
    """Coloured, non-stationary noise for one station, shape (3, n), nm/s.

    Amplitude spectral densities (nm/s/sqrt(Hz)) shaped after the Peterson (1993) noise models'
    features: a red (1/f) rise below 1 Hz, a log-Gaussian secondary microseism at about 0.2 Hz whose
    level drifts over tens of minutes (swell comes and goes), log-Gaussian cultural noise at 3-8 Hz
    modulated in time (traffic), a weak machinery line at 10-18 Hz and a white floor. On top, the
    unlabelled nuisances of real records: cultural bursts (a vehicle or machine passing: 3-30 s of 2-15 Hz
    noise under a Hann envelope, 2-8 times the cultural level, about one every two minutes) and
    one-sample digitiser glitches (about one every five minutes). Horizontals are 1.3 times noisier
    (tilt and local sources).
    """
    freq_hz = np.fft.rfftfreq(n, 1.0 / fs)
    log_f = np.log10(np.maximum(freq_hz, 1e-6))
    micro_hz = rng.uniform(0.15, 0.25)
    cultural_hz = rng.uniform(3.0, 8.0)
    level = rng.uniform(0.7, 1.4)  # site quality
    micro_asd = 2000.0 * np.exp(-0.5 * ((log_f - np.log10(micro_hz)) / 0.15) ** 2)
    red_asd = 40.0 / np.maximum(freq_hz, 0.02)  # 1/f: 40 nm/s/sqrt(Hz) at 1 Hz, flat below 0.02 Hz
    cultural_asd = 12.0 * level * np.exp(-0.5 * ((log_f - np.log10(cultural_hz)) / 0.3) ** 2)
    to_time = np.sqrt(fs / 2.0)  # unit-variance white noise has a one-sided PSD of 2 / fs
    time_s = np.arange(n) / fs
    line_hz = rng.uniform(10.0, 18.0)
    # slow positive modulations: smoothed Gaussian noise, correlation about a minute (traffic), ten (swell)
    modulation = np.exp(0.5 * _smooth(rng.standard_normal(n), int(60 * fs)))
    swell = np.exp(0.3 * _smooth(rng.standard_normal(n), int(min(600 * fs, n // 2))))
    bursts = _cultural_bursts(rng, n, fs, 12.0 * level * to_time)
    components = []
    for c, factor in enumerate((1.0, 1.3, 1.3)):
        micro = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * (micro_asd + red_asd) * to_time, n)
        cultural = np.fft.irfft(np.fft.rfft(rng.standard_normal(n)) * cultural_asd * to_time, n)
        floor = 0.7 * to_time * rng.standard_normal(n)
        line = 8.0 * level * np.sin(2 * np.pi * line_hz * time_s + rng.uniform(0, 2 * np.pi))
        components.append(swell * micro + factor * (modulation * (cultural + line) + floor + bursts[c]))
    noise = np.stack(components)
    glitches = rng.random(n) < 1.0 / (300.0 * fs)
    noise[rng.integers(3, size=int(glitches.sum())), np.flatnonzero(glitches)] += (
        rng.uniform(5.0, 30.0, int(glitches.sum())) * to_time * rng.choice([-1.0, 1.0], int(glitches.sum())))
    return noise


def _cultural_bursts(rng: np.random.Generator, n: int, fs: float, rms: float) -> np.ndarray:
    """Passing-vehicle bursts, shape (3, n): 3-30 s of 2-15 Hz noise under a Hann envelope, Poisson in time."""
    out = np.zeros((3, n))
    sos = butter(4, (2.0, 15.0), btype="bandpass", fs=fs, output="sos")
    for _ in range(rng.poisson(n / fs / 120.0)):
        m = min(n, int(rng.uniform(3.0, 30.0) * fs))
        i0 = int(rng.integers(0, n - m + 1))
        burst = sosfilt(sos, rng.standard_normal((3, m)), axis=-1) * np.hanning(m)
        out[:, i0:i0 + m] += rng.uniform(2.0, 8.0) * rms * burst / burst.std()
    return out


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Moving average of ``x`` over ``width`` samples, rescaled to unit standard deviation."""
    y = uniform_filter1d(x, width, mode="wrap")
    return y / y.std()


def _event_motion(rng, fs, magnitude, distance_km, azimuth_rad, s_minus_p_s, kappa_s):
    """Ground velocity of one event at one station from its P onset, shape (3, m), nm/s.

    Spectra: a Brune (1970) omega-square source (corner frequency of a 3 MPa stress drop, P corner 1.5
    times the S one, Madariaga 1976) times the whole-path attenuation ``exp(-pi f t*)`` with
    ``t* = travel time / Q + kappa`` (site kappa per station). Envelopes: an onset that grows more
    emergent with distance (scattering), then an exponential coda whose length follows the duration
    magnitude (Lee et al. 1972: ``Md = -0.87 + 2 log10(tau) + 0.0035 D``).

    Returns the motion (Z, N, E) and the time after P at which it ends, s.
    """
    # Hutton and Boore (1987): Wood-Anderson amplitude (mm) of the S wave
    log_a_mm = magnitude - 3.0 - 1.110 * np.log10(distance_km / 100.0) - 0.00189 * (distance_km - 100.0)
    displacement_m = 10.0**log_a_mm * 1e-3 / WOOD_ANDERSON_GAIN
    moment_nm = 10.0 ** (1.5 * magnitude + 9.1)  # Mw ~ ML
    s_corner_hz = 0.49 * VS_KM_S * 1e3 * (3e6 / moment_nm) ** (1.0 / 3.0)
    s_t_star = distance_km / VS_KM_S / Q_S + kappa_s
    p_t_star = distance_km / VP_KM_S / Q_P + kappa_s
    s_shape, s_dominant_hz = _brune_shape(fs, s_corner_hz, s_t_star)
    p_shape, _ = _brune_shape(fs, 1.5 * s_corner_hz, p_t_star)
    s_peak = 2 * np.pi * s_dominant_hz * displacement_m * 1e9  # nm/s
    p_peak = s_peak / rng.uniform(3.0, 6.0)  # double-couple average, about (Vp/Vs)^3 / 2
    coda_s = 10.0 ** ((magnitude + 0.87 - 0.0035 * distance_km) / 2.0)  # signal duration from P
    s_decay_s = max(0.5, (coda_s - s_minus_p_s) / 4.0)
    p_decay_s = max(0.3, min(s_decay_s, 0.5 * coda_s / 4.0))
    p_rise_s = 0.02 + distance_km / 150.0
    p_incidence = np.radians(rng.uniform(15.0, 35.0))
    s_incidence = np.arcsin(np.sin(p_incidence) * VS_KM_S / VP_KM_S)  # Snell
    sin_az, cos_az = np.sin(azimuth_rad), np.cos(azimuth_rad)
    ray = np.array([np.cos(p_incidence), np.sin(p_incidence) * cos_az, np.sin(p_incidence) * sin_az])
    sv = np.array([-np.sin(s_incidence), np.cos(s_incidence) * cos_az, np.cos(s_incidence) * sin_az])
    sh = np.array([0.0, -sin_az, cos_az])

    lag = int(round(s_minus_p_s * fs))
    end_s = s_minus_p_s + 6.0 * s_decay_s
    m = int(round(end_s * fs))
    motion = np.zeros((3, m))
    p_len, s_len = m, m - lag

    def phase(n, rise_s, decay_s, shape):
        return _phase(rng, n, fs, rise_s, decay_s, shape)

    motion += p_peak * ray[:, None] * phase(p_len, p_rise_s, p_decay_s, p_shape)
    motion += 0.15 * p_peak * np.stack([phase(p_len, p_rise_s, p_decay_s, p_shape) for _ in range(3)])
    sv_share = rng.uniform(0.3, 1.0)
    s_motion = (sv_share * sv[:, None] * phase(s_len, 2 * p_rise_s, s_decay_s, s_shape)
                + (1.3 - sv_share) * sh[:, None] * phase(s_len, 2 * p_rise_s, s_decay_s, s_shape))
    s_motion += 0.15 * np.stack([phase(s_len, 2 * p_rise_s, s_decay_s, s_shape) for _ in range(3)])
    motion[:, lag:] += s_peak * s_motion / np.abs(s_motion).max()
    return motion, end_s


def _brune_shape(fs: float, corner_hz: float, t_star_s: float):
    """Velocity amplitude spectrum ``f / (1 + (f/fc)^2) exp(-pi f t*)`` as a function of frequency (Hz),
    and its peak frequency within the 1-20 Hz band."""
    def shape(freq_hz):
        return freq_hz / (1.0 + (freq_hz / corner_hz) ** 2) * np.exp(-np.pi * freq_hz * t_star_s)
    grid = np.linspace(BAND_HZ[0], BAND_HZ[1], 200)
    return shape, float(grid[np.argmax(shape(grid))])


def _phase(rng, n, fs, rise_s, decay_s, shape) -> np.ndarray:
    """Unit-peak seismic phase: noise with the spectrum ``shape(f)`` under a rise-then-exponential-decay
    envelope (applied after the spectral shaping, so nothing arrives before the onset).

    The last sixth of the phase is tapered to zero so that it ends cleanly.
    """
    time_s = np.arange(n) / fs
    envelope = (1.0 - np.exp(-time_s / rise_s)) * np.exp(-time_s / decay_s)
    taper = min(n, max(2, n // 6))
    envelope[-taper:] *= np.hanning(2 * taper)[taper:]
    spectrum = np.fft.rfft(rng.standard_normal(n)) * shape(np.fft.rfftfreq(n, 1.0 / fs))
    x = np.fft.irfft(spectrum, n) * envelope
    return x / np.abs(x).max()


def _place_transient(rng, kind, fs, n, window_s, busy, in_band_rms):
    """Draw a free window for one transient and its motion.

    Returns ``(window_start_s, onset_s, motion (3, m) nm/s, active_span_s)``, or None if 200 draws
    found no window clear of ``busy``.
    """
    duration_s = n / fs
    if kind == "tremor":
        span_s = _on_grid(rng.uniform(10.0, 20.0), fs)
        m = int(round(span_s * fs))
        carrier_hz = rng.uniform(2.0, 5.0)
        sos = butter(2, (carrier_hz - 0.5, carrier_hz + 0.5), btype="bandpass", fs=fs, output="sos")
        bursts = sosfiltfilt(sos, rng.standard_normal((3, m)), axis=-1) * np.hanning(m)
        motion = rng.uniform(5.0, 20.0) * in_band_rms * bursts / np.abs(bursts).max()
    else:
        span_s = 1.0
        channel = rng.integers(3)
        amplitude = rng.uniform(20.0, 200.0) * in_band_rms * rng.choice([-1.0, 1.0])
        if kind == "spike":  # a digitiser glitch of one to three samples
            motion = np.zeros((3, int(rng.integers(1, 4))))
        else:  # a lasting offset (mass re-centring, digitiser reset); its length is clipped to the record
            motion = np.zeros((3, n))
        motion[channel] = amplitude
    for _ in range(200):
        start_s = _on_grid(rng.uniform(0.0, duration_s - window_s), fs)
        onset_s = _on_grid(start_s + rng.uniform(2.0, window_s - span_s - 2.0), fs)
        if not _overlaps(start_s - 2.0, start_s + window_s + 2.0, busy):
            return start_s, onset_s, motion, span_s
    return None


def _snr_db(motion, noise_band, i0, n_span, band_sos) -> float:
    """SNR (dB) of ``motion`` added at sample ``i0`` over ``n_span`` samples, both band-passed 1-20 Hz."""
    n_span = max(1, min(n_span, noise_band.shape[1] - i0))
    # pad before the onset so the zero-phase filter sees the quiet lead-in, as it does in the record
    lead = min(i0, 500)
    padded = np.concatenate([np.zeros((3, lead)), motion[:, : n_span + 500]], axis=1)
    signal_band = sosfiltfilt(band_sos, padded, axis=-1)[:, lead:lead + n_span]
    return float(10.0 * np.log10(np.sum(signal_band**2) / np.sum(noise_band[:, i0:i0 + n_span] ** 2)))


def _overlaps(start_s: float, end_s: float, spans: list[tuple[float, float]]) -> bool:
    return any(start_s < b and a < end_s for a, b in spans)


def _on_grid(t_s: float, fs: float) -> float:
    """Round a time to the sample grid, so window bounds fall on samples."""
    return round(t_s * fs) / fs


def _iso(t_s: float) -> str:
    """ISO 8601 UTC text (microseconds, ``Z``) of ``t_s`` seconds after ``START_TIME``."""
    return str(START_TIME + t_s)


def _write_station(path: Path, station: str, counts: np.ndarray, fs: float) -> Path:
    traces = [Trace(counts[c], header=dict(network=NETWORK, station=station, location="", channel=channel,
                                           sampling_rate=fs, starttime=START_TIME))
              for c, channel in enumerate(CHANNELS)]
    with atomic_path(path) as tmp:
        Stream(traces).write(str(tmp), format="MSEED", encoding="STEIM2", reclen=4096)
    return path


def _write_events(path: Path, arrivals: list[dict]) -> Path:
    table = pd.DataFrame(arrivals).sort_values(["event_id", "p_arrival_time"], kind="stable")
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return path


def _write_windows(path: Path, windows: list[dict], window_s: float) -> Path:
    table = pd.DataFrame(windows).sort_values(["station", "start_s"], kind="stable").reset_index(drop=True)
    table = pd.DataFrame(dict(
        network=NETWORK, station=table["station"], start_time=[_iso(t) for t in table["start_s"]],
        end_time=[_iso(t + window_s) for t in table["start_s"]], window_s=window_s, label=table["label"],
        snr_db=table["snr_db"].round(2), event_id=table["event_id"], transient_kind=table["transient_kind"]))
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
    return path
