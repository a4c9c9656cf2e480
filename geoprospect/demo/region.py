"""The demo region's geology and mineral system, as functions of map coordinates.

Every field here can be evaluated at any set of points, so that each sensor is sampled on its own
native grid (10 m Sentinel-2, 15 m ASTER VNIR, 90 m ASTER TIR...) from one consistent geology.

Geology: a folded layer-cake of seven units over a schist basement, cut by straight faults that throw
the stratigraphy, with granite stocks and fault-hosted diorite-porphyry stocks intruding it, and
alluvial cover in low-lying patches.

The mineral system (porphyry Cu-Au style) places deposits by this stated rule, with the true
probability kept::

    logit p = b0 + 2.0 exp(-d_fault / 400 m)            fluid pathways
                 + 1.2 [unit in andesite, limestone, diorite porphyry]   reactive / fertile hosts
                 + 2.5 exp(-d_porphyry_contact / 600 m)  heat and metal source
                 + 2.0 alteration                       hydrothermal footprint (0..1)

with ``b0`` set so that the expected number of deposits over the region equals the number asked
for. Deposits are Bernoulli draws of ``p`` per cell, thinned to a minimum spacing.
``alteration`` (clay/OH and iron oxide, seen by the spectral sensors) peaks around porphyry contacts
and along faults near them; it also raises potassium and destroys magnetite.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# code, name, susceptibility (SI), density contrast (kg/m^3 vs 2670), K %, eTh ppm, eU ppm, resistance to erosion (0..1)
UNITS = (
    (1, "alluvium", 2e-4, -500, 1.5, 9.0, 2.5, 0.0),
    (2, "sandstone", 1e-4, -270, 0.8, 4.0, 1.0, 0.7),
    (3, "shale", 3e-4, -170, 2.5, 12.0, 3.5, 0.2),
    (4, "limestone", 5e-5, 40, 0.3, 1.5, 2.0, 0.6),
    (5, "rhyolite_tuff", 2e-3, -170, 3.8, 18.0, 5.0, 0.5),
    (6, "andesite", 1.2e-2, 130, 1.8, 6.0, 2.0, 0.6),
    (7, "basalt", 2.5e-2, 280, 0.5, 2.0, 0.6, 0.8),
    (8, "schist", 6e-4, 80, 2.2, 10.0, 2.5, 0.5),
    (9, "granite", 8e-3, -100, 4.0, 20.0, 5.0, 0.9),
    (10, "diorite_porphyry", 3.5e-2, 50, 2.0, 7.0, 2.0, 0.7),
)
UNIT_NAMES = {u[0]: u[1] for u in UNITS}
HOST_UNITS = (4, 6, 10)  # limestone, andesite, diorite porphyry
# layer-cake from the bottom: basement schist, then volcanics, then sediments
STRATIGRAPHY = (8, 7, 6, 5, 4, 3, 2)


def unit_property(codes: np.ndarray, column: int) -> np.ndarray:
    """Look up a property column of :data:`UNITS` for an array of unit codes."""
    table = np.zeros(max(UNIT_NAMES) + 1)
    for unit in UNITS:
        table[unit[0]] = unit[column]
    return table[codes]


@dataclass(frozen=True)
class RandomField:
    """A smooth, unit-variance random field: a sum of cosines with random directions and phases.

    It can be evaluated at arbitrary points, which keeps every sensor's native grid consistent.
    """

    kx: np.ndarray
    ky: np.ndarray
    phase: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, wavelength_m: float, modes: int = 24) -> "RandomField":
        angle = rng.uniform(0, np.pi, modes)
        k = 2 * np.pi / (wavelength_m * rng.uniform(0.5, 1.5, modes))
        return cls(k * np.cos(angle), k * np.sin(angle), rng.uniform(0, 2 * np.pi, modes))

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.zeros(np.broadcast_shapes(np.shape(x), np.shape(y)))
        for kx, ky, ph in zip(self.kx, self.ky, self.phase):
            out += np.cos(kx * x + ky * y + ph)
        return out * np.sqrt(2.0 / len(self.kx))


@dataclass(frozen=True)
class Fault:
    """A straight fault trace through ``(x0, y0)`` at ``azimuth_deg``; it throws layers by ``throw_m``."""

    x0: float
    y0: float
    azimuth_deg: float
    throw_m: float

    @property
    def direction(self) -> tuple[float, float]:
        a = np.radians(self.azimuth_deg)
        return float(np.sin(a)), float(np.cos(a))

    def side(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dx, dy = self.direction
        return np.sign(dx * (y - self.y0) - dy * (x - self.x0))

    def distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        dx, dy = self.direction
        return np.abs(dx * (y - self.y0) - dy * (x - self.x0))


@dataclass(frozen=True)
class Stock:
    """An elliptical intrusive stock with a wavy margin."""

    code: int
    x0: float
    y0: float
    a_m: float
    b_m: float
    angle_deg: float

    def radius(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Normalised elliptical radius: < 1 inside (before the wavy margin)."""
        t = np.radians(self.angle_deg)
        u = (x - self.x0) * np.cos(t) + (y - self.y0) * np.sin(t)
        v = -(x - self.x0) * np.sin(t) + (y - self.y0) * np.cos(t)
        return np.sqrt((u / self.a_m) ** 2 + (v / self.b_m) ** 2)

    def contact_distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Approximate distance to the margin in metres (both sides)."""
        return np.abs(self.radius(x, y) - 1.0) * np.sqrt(self.a_m * self.b_m)


@dataclass(frozen=True)
class Region:
    """The demo region: bounds in a projected CRS and the drawn geology."""

    crs: str
    bounds: tuple[float, float, float, float]
    faults: tuple[Fault, ...]
    stocks: tuple[Stock, ...]
    fold: RandomField
    margin: RandomField
    cover: RandomField
    texture: RandomField
    layer_thickness_m: float
    intercept: float = 0.0

    @classmethod
    def draw(cls, rng: np.random.Generator, crs: str, bounds: tuple[float, float, float, float]) -> "Region":
        xmin, ymin, xmax, ymax = bounds
        size = min(xmax - xmin, ymax - ymin)
        n_faults = 7
        faults = tuple(
            Fault(rng.uniform(xmin, xmax), rng.uniform(ymin, ymax), rng.uniform(0, 180), rng.uniform(-0.04, 0.04) * size)
            for _ in range(n_faults)
        )
        stocks = [
            Stock(9, rng.uniform(xmin, xmax), rng.uniform(ymin, ymax), s * size, s * size * rng.uniform(0.6, 0.9), rng.uniform(0, 180))
            for s in rng.uniform(0.06, 0.1, 2)
        ]
        # porphyry stocks sit on faults: fluids and magma share the same structures
        for fault in rng.choice(len(faults), 3, replace=False):
            f = faults[fault]
            dx, dy = f.direction
            t = rng.uniform(-0.3, 0.3) * size
            cx, cy = f.x0 + dx * t, f.y0 + dy * t
            cx = float(np.clip(cx, xmin + 0.1 * size, xmax - 0.1 * size))
            cy = float(np.clip(cy, ymin + 0.1 * size, ymax - 0.1 * size))
            r = rng.uniform(0.02, 0.035) * size
            stocks.append(Stock(10, cx, cy, r, r * rng.uniform(0.6, 0.9), f.azimuth_deg))
        return cls(
            crs=crs, bounds=tuple(float(b) for b in bounds), faults=faults, stocks=tuple(stocks),
            fold=RandomField.draw(rng, 0.6 * size, 12), margin=RandomField.draw(rng, 0.05 * size),
            cover=RandomField.draw(rng, 0.25 * size), texture=RandomField.draw(rng, 0.02 * size, 32),
            layer_thickness_m=0.09 * size,
        )

    # geology -------------------------------------------------------------------------------------
    def units(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Unit code at each point (int16)."""
        xmin, ymin, _, _ = self.bounds
        depth = (y - ymin) * 0.8 + (x - xmin) * 0.3 + self.fold(x, y) * 1.2 * self.layer_thickness_m
        for fault in self.faults:
            depth = depth + 0.5 * fault.throw_m * fault.side(x, y)
        layer = np.floor(depth / self.layer_thickness_m).astype(int) % (2 * len(STRATIGRAPHY) - 2)
        layer = np.where(layer >= len(STRATIGRAPHY), 2 * len(STRATIGRAPHY) - 2 - layer, layer)  # repeat up and down
        codes = np.asarray(STRATIGRAPHY)[layer].astype("int16")
        codes = np.where(self.cover(x, y) > 1.1, 1, codes)
        wavy = 1.0 + 0.08 * self.margin(x, y)
        for stock in self.stocks:
            codes = np.where(stock.radius(x, y) < wavy, stock.code, codes)
        return codes.astype("int16")

    def fault_distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Distance to the nearest fault trace, metres."""
        return np.min([f.distance(x, y) for f in self.faults], axis=0)

    def porphyry_contact_distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Distance to the nearest diorite-porphyry margin, metres."""
        return np.min([s.contact_distance(x, y) for s in self.stocks if s.code == 10], axis=0)

    def alteration(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Hydrothermal alteration intensity, 0..1: a halo around porphyry stocks, stretched along faults."""
        halo = np.exp(-self.porphyry_contact_distance(x, y) / 900.0)
        along_faults = 0.6 + 0.4 * np.exp(-self.fault_distance(x, y) / 600.0)
        patchy = 0.85 + 0.15 * np.tanh(self.texture(x, y))
        return np.clip(halo * along_faults * patchy, 0.0, 1.0)

    # mineral system ------------------------------------------------------------------------------
    def logit(self, x: np.ndarray, y: np.ndarray, units: np.ndarray | None = None) -> np.ndarray:
        """The mineral-system score without the intercept (see the module docstring)."""
        units = self.units(x, y) if units is None else units
        return (
            2.0 * np.exp(-self.fault_distance(x, y) / 400.0)
            + 1.2 * np.isin(units, HOST_UNITS)
            + 2.5 * np.exp(-self.porphyry_contact_distance(x, y) / 600.0)
            + 2.0 * self.alteration(x, y)
        )


def calibrate_intercept(score: np.ndarray, expected_count: float) -> float:
    """The intercept ``b0`` such that ``sum(sigmoid(b0 + score)) == expected_count`` (bisection)."""
    lo, hi = -40.0, 10.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        total = float(np.sum(1.0 / (1.0 + np.exp(-(mid + score)))))
        lo, hi = (mid, hi) if total < expected_count else (lo, mid)
    return 0.5 * (lo + hi)


def thin_points(x: np.ndarray, y: np.ndarray, priority: np.ndarray, min_spacing_m: float) -> np.ndarray:
    """Indices of points kept so that no two are closer than ``min_spacing_m`` (highest priority first)."""
    kept: list[int] = []
    for i in np.argsort(-priority):
        if all((x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2 >= min_spacing_m**2 for j in kept):
            kept.append(int(i))
    return np.array(sorted(kept), dtype=int)
