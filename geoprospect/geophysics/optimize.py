"""Bounded optimisers for parametric inversion, batched over trial models.

Each optimiser is an object with its settings in ``__init__`` (``random_state`` included) and one
method, ``minimize(objective, lower, upper, x0=None) -> OptimizeResult``. The objective maps a
batch of candidate vectors, shape (batch, n), to their costs, shape (batch,), so a swarm, a set of
offers or a Jacobian's columns cost one call (one batched forward run). Non-finite costs count as
infinitely bad. :class:`LevenbergMarquardt` works on residuals instead: its ``minimize`` takes
``residual`` mapping (batch, n) to (batch, m) and reports ``fun`` as the mean squared residual, the
same number a :class:`~geoprospect.geophysics.misfit.DataMisfit` returns.

- :class:`LevenbergMarquardt`: damped least squares (Levenberg 1944; Marquardt 1963) from
  Latin-hypercube starts.
- :class:`ParticleSwarm`: particle swarm optimisation with a linearly decreasing inertia weight
  (Kennedy and Eberhart 1995; Shi and Eberhart 1998), or with ``chaotic=True`` the chaotic PSO
  used as COPSO by Li et al. (2019, Nonlinear Processes in Geophysics 26, 445-456).
- :class:`Bargain`: the bargain optimisation algorithm of Stanley Raj et al. (2021, Journal of
  Current Scientific Research 1(2), 24-34), as far as its published description goes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

Objective = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class OptimizeResult:
    """Outcome of one ``minimize`` call.

    Attributes
    ----------
    x : numpy.ndarray, shape (n,)
        Best vector found, inside the bounds.
    fun : float
        Its objective value (for least squares: the mean squared residual).
    n_evaluations : int
        Number of vectors evaluated (rows sent to the objective or residual function).
    history : numpy.ndarray, shape (n_iterations,)
        Best objective value after each iteration (epoch for :class:`Bargain`).
    """

    x: np.ndarray
    fun: float
    n_evaluations: int
    history: np.ndarray


class _Counted:
    """Wraps a batched function: counts rows, checks the output shape, maps NaN to inf."""

    def __init__(self, function: Objective, lower: np.ndarray, width: np.ndarray, ndim: int):
        self.function, self.lower, self.width, self.ndim = function, lower, width, ndim
        self.n_evaluations = 0

    def __call__(self, unit: np.ndarray) -> np.ndarray:
        """Evaluate at unit-cube points ``unit`` (batch, n), scaled into the bounds."""
        self.n_evaluations += len(unit)
        values = np.asarray(self.function(self.lower + unit * self.width), dtype=float)
        if values.ndim != self.ndim or len(values) != len(unit):
            expected = "(batch,)" if self.ndim == 1 else "(batch, m)"
            raise ValueError(f"the function returned shape {values.shape}, expected {expected} with batch = {len(unit)}")
        return np.where(np.isfinite(values), values, np.inf)


def _check_bounds(lower: ArrayLike, upper: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    lower, upper = np.atleast_1d(np.asarray(lower, dtype=float)), np.atleast_1d(np.asarray(upper, dtype=float))
    if lower.ndim != 1 or lower.shape != upper.shape:
        raise ValueError("lower and upper must be 1-D arrays of the same length")
    if not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper)) and np.all(lower < upper)):
        raise ValueError("bounds must be finite with lower < upper")
    return lower, upper


def _unit_start(x0: ArrayLike | None, lower: np.ndarray, upper: np.ndarray) -> np.ndarray | None:
    """``x0`` mapped into the unit cube (clipped into the bounds), or None."""
    if x0 is None:
        return None
    x0 = np.asarray(x0, dtype=float)
    if x0.shape != lower.shape:
        raise ValueError(f"x0 must have shape {lower.shape}")
    return np.clip((x0 - lower) / (upper - lower), 0.0, 1.0)


def latin_hypercube(n_samples: int, n_dims: int, rng: np.random.Generator) -> np.ndarray:
    """Latin-hypercube sample of the unit cube (McKay, Beckman and Conover 1979).

    Each dimension is cut into ``n_samples`` equal strata and every stratum holds one sample, so
    even a few multistart points spread over every parameter's whole range.

    Returns
    -------
    numpy.ndarray, shape (n_samples, n_dims), values in [0, 1).
    """
    strata = np.argsort(rng.random((n_samples, n_dims)), axis=0)  # a random permutation per column
    return (strata + rng.random((n_samples, n_dims))) / n_samples


class LevenbergMarquardt:
    """Damped least squares from several Latin-hypercube starts, all iterated in one batch.

    Each iteration solves ``(J^T J + lambda diag(J^T J)) delta = -J^T r`` per start (Marquardt's
    scaling, so the step does not depend on the parameters' units), on parameters rescaled to the
    unit cube of the bounds. The Jacobian comes from forward differences, all columns of all active
    starts in one residual call. A step that lowers the misfit is accepted and lambda divided by 10;
    otherwise lambda is multiplied by 10. Steps are clipped to the bounds. A start stops when an
    accepted step lowers the misfit by less than ``tol`` relative, or lambda exceeds 1e10; the best
    start wins.

    Parameters
    ----------
    n_starts : int, default 8
        Number of Latin-hypercube starting points (the first replaced by ``x0`` when given).
    max_iter : int, default 50
        Maximum iterations per start.
    damping : float, default 1e-2
        Initial lambda.
    fd_step : float, default 1e-6
        Finite-difference step as a fraction of each parameter's bound width.
    tol : float, default 1e-8
        Relative misfit decrease below which a start has converged.
    random_state : int or numpy.random.Generator, optional
    """

    needs_residual = True

    def __init__(
        self,
        n_starts: int = 8,
        max_iter: int = 50,
        damping: float = 1e-2,
        fd_step: float = 1e-6,
        tol: float = 1e-8,
        random_state: int | np.random.Generator | None = None,
    ):
        self.n_starts = n_starts
        self.max_iter = max_iter
        self.damping = damping
        self.fd_step = fd_step
        self.tol = tol
        self.random_state = random_state

    def minimize(self, residual: Objective, lower: ArrayLike, upper: ArrayLike, x0: ArrayLike | None = None) -> OptimizeResult:
        """Minimise the mean squared residual inside the bounds.

        Parameters
        ----------
        residual : callable
            Maps vectors (batch, n) to residuals (batch, m), e.g. ``DataMisfit.residual``.
        lower, upper : array_like, shape (n,)
            Bounds.
        x0 : array_like, shape (n,), optional
            A starting point used in place of the first Latin-hypercube start.

        Returns
        -------
        OptimizeResult
            ``fun`` is mean(residual^2) at ``x``; ``history`` the best over starts per iteration.
        """
        lower, upper = _check_bounds(lower, upper)
        n = len(lower)
        function = _Counted(residual, lower, upper - lower, ndim=2)
        unit = latin_hypercube(self.n_starts, n, np.random.default_rng(self.random_state))
        start = _unit_start(x0, lower, upper)
        if start is not None:
            unit[0] = start
        res = function(unit)
        cost = np.mean(res**2, axis=1)
        damping = np.full(self.n_starts, float(self.damping))
        active = np.isfinite(cost)
        history = []
        for _ in range(self.max_iter):
            if not active.any():
                break
            idx = np.flatnonzero(active)
            jac = self._jacobian(function, unit[idx], res[idx])
            finite = np.isfinite(jac).all(axis=(1, 2))
            active[idx[~finite]] = False  # a start whose neighbourhood leaves the valid models
            idx, jac = idx[finite], jac[finite]
            if len(idx) == 0:
                break
            jtj = np.einsum("kmi,kmj->kij", jac, jac)
            grad = np.einsum("kmi,km->ki", jac, res[idx])
            diag = np.diagonal(jtj, axis1=1, axis2=2)
            # Marquardt scaling with a floor, so an insensitive parameter still gets a damped step.
            scale = diag + 1e-12 * diag.max(axis=1, keepdims=True) + np.finfo(float).tiny
            lhs = jtj + (damping[idx, None] * scale)[:, :, None] * np.eye(n)
            step = np.linalg.solve(lhs, -grad[..., None])[..., 0]
            trial = np.clip(unit[idx] + step, 0.0, 1.0)
            trial_res = function(trial)
            trial_cost = np.mean(trial_res**2, axis=1)
            better = trial_cost < cost[idx]
            small_gain = cost[idx] - trial_cost <= self.tol * cost[idx]
            accepted = idx[better]
            unit[accepted], res[accepted], cost[accepted] = trial[better], trial_res[better], trial_cost[better]
            damping[idx] = np.where(better, damping[idx] / 10.0, damping[idx] * 10.0)
            active[idx[better & small_gain]] = False
            active[idx[damping[idx] > 1e10]] = False
            active &= cost > 0.0  # an exact fit leaves nothing to improve
            history.append(cost.min())
        best = int(np.argmin(cost))
        return OptimizeResult(
            x=lower + unit[best] * (upper - lower),
            fun=float(cost[best]),
            n_evaluations=function.n_evaluations,
            history=np.asarray(history),
        )

    def _jacobian(self, function: _Counted, unit: np.ndarray, res: np.ndarray) -> np.ndarray:
        """Forward-difference Jacobian, shape (k, m, n), of k points in one call.

        Near the upper bound the step goes backwards so every perturbed point stays in the box.
        """
        k, n = unit.shape
        steps = np.where(unit + self.fd_step <= 1.0, self.fd_step, -self.fd_step)  # (k, n)
        perturbed = unit[:, None, :] + np.eye(n)[None] * steps[:, None, :]  # (k, n, n): row j moves x_j
        res_perturbed = function(perturbed.reshape(k * n, n)).reshape(k, n, -1)
        return ((res_perturbed - res[:, None, :]) / steps[:, :, None]).transpose(0, 2, 1)


class LogisticSequence:
    """Chaotic numbers in (0, 1) from the logistic map z_{k+1} = mu z_k (1 - z_k).

    One orbit from ``z0``, consumed in order: with mu = 4 it is chaotic and covers (0, 1) with the
    arcsine density. Values are kept off the map's traps (0 and 1 lead to 0 for ever).
    """

    def __init__(self, z0: float, mu: float):
        self.z, self.mu = float(z0), float(mu)

    def take(self, shape: tuple[int, ...]) -> np.ndarray:
        values = np.empty(int(np.prod(shape)))
        z, mu = self.z, self.mu
        for i in range(len(values)):  # sequential by nature: each value is the map of the previous
            z = min(max(mu * z * (1.0 - z), 1e-12), 1.0 - 1e-12)
            values[i] = z
        self.z = z
        return values.reshape(shape)


class ParticleSwarm:
    """Particle swarm optimisation, standard (SPSO) or chaotic (COPSO).

    Standard PSO (Kennedy and Eberhart 1995) with the inertia weight of Shi and Eberhart (1998),
    decreasing linearly from ``inertia[0]`` at the first iteration to ``inertia[1]`` at the last:

        v <- w v + c1 r1 (p_best - x) + c2 r2 (g_best - x),   x <- x + v,

    with r1, r2 uniform random numbers per particle and dimension, velocities clamped to
    ``max_velocity`` times the bound width and positions clipped to the bounds (the velocity of a
    clipped component is set to zero).

    ``chaotic=True`` gives COPSO as used by Li et al. (2019, NPG 26:445) to train BP networks for
    TEM inversion: the logistic map z_{k+1} = 4 z_k (1 - z_k) from z_0 = 0.234 (``chaos_mu``,
    ``chaos_z0``) replaces the uniform random numbers r1 and r2 (one orbit, consumed in order, two
    numbers per particle and dimension per iteration), and the inertia weight oscillates
    chaotically inside a linearly shrinking envelope,

        w(t) = (w_max - w_min) (T - t) / T + w_min z_t,   t = 0 .. T - 1,

    with its own logistic orbit z_t from the same z_0. What was implemented and why: the full
    text of Li et al. could not be retrieved offline here; its abstract names a "chaotic-oscillation
    inertia weight" and the issue gives mu = 4, z_0 = 0.234, w from 0.9 to 0.4, M = 60 particles,
    c1 = c2 = 2, T_max = 30. The formula above is the published chaotic inertia weight of Feng,
    Teng, Wang and Yao (2007, "Chaotic inertia weight in particle swarm optimization", ICICIC 2007),
    the standard chaotic weight with exactly those ingredients: w oscillates chaotically in the band
    [(w_max - w_min) (T - t) / T, (w_max - w_min) (T - t) / T + w_min], which starts at [0.5, 0.9]
    and slides down towards [0, 0.4]. The initial swarm comes from ``random_state`` in both
    variants.

    Parameters
    ----------
    n_particles : int, default 60
    max_iter : int, default 30
    inertia : (float, float), default (0.9, 0.4)
        (w_max, w_min).
    c1, c2 : float, default 2.0
        Cognitive and social acceleration coefficients.
    chaotic : bool, default False
        COPSO instead of standard PSO.
    max_velocity : float, default 0.2
        Velocity clamp as a fraction of each bound width.
    chaos_z0, chaos_mu : float, default 0.234, 4.0
        Logistic map start and parameter (COPSO only).
    random_state : int or numpy.random.Generator, optional
    """

    def __init__(
        self,
        n_particles: int = 60,
        max_iter: int = 30,
        inertia: tuple[float, float] = (0.9, 0.4),
        c1: float = 2.0,
        c2: float = 2.0,
        chaotic: bool = False,
        max_velocity: float = 0.2,
        chaos_z0: float = 0.234,
        chaos_mu: float = 4.0,
        random_state: int | np.random.Generator | None = None,
    ):
        self.n_particles = n_particles
        self.max_iter = max_iter
        self.inertia = inertia
        self.c1 = c1
        self.c2 = c2
        self.chaotic = chaotic
        self.max_velocity = max_velocity
        self.chaos_z0 = chaos_z0
        self.chaos_mu = chaos_mu
        self.random_state = random_state

    def minimize(self, objective: Objective, lower: ArrayLike, upper: ArrayLike, x0: ArrayLike | None = None) -> OptimizeResult:
        """Minimise a batched objective inside the bounds.

        Parameters
        ----------
        objective : callable
            Maps vectors (batch, n) to costs (batch,); the whole swarm goes in one call.
        lower, upper : array_like, shape (n,)
            Bounds.
        x0 : array_like, shape (n,), optional
            Position of the first particle (the others are uniform in the bounds).

        Returns
        -------
        OptimizeResult
            ``history`` holds the swarm's best cost after each of the ``max_iter`` iterations.
        """
        lower, upper = _check_bounds(lower, upper)
        rng = np.random.default_rng(self.random_state)
        shape = (self.n_particles, len(lower))
        function = _Counted(objective, lower, upper - lower, ndim=1)
        # Work in the unit cube: one velocity clamp and one clip for every parameter's scale.
        x = rng.random(shape)
        start = _unit_start(x0, lower, upper)
        if start is not None:
            x[0] = start
        v = rng.uniform(-self.max_velocity, self.max_velocity, shape)
        best_x, best_cost = x.copy(), function(x)
        w_max, w_min = self.inertia
        if self.chaotic:
            weight_chaos = LogisticSequence(self.chaos_z0, self.chaos_mu)
            factor_chaos = LogisticSequence(self.chaos_z0, self.chaos_mu)
        history = []
        for t in range(self.max_iter):
            if self.chaotic:
                w = (w_max - w_min) * (self.max_iter - t) / self.max_iter + w_min * weight_chaos.take(())
                r1, r2 = factor_chaos.take((2,) + shape)
            else:
                w = w_max - (w_max - w_min) * t / max(self.max_iter - 1, 1)
                r1, r2 = rng.random((2,) + shape)
            g = best_x[np.argmin(best_cost)]
            v = np.clip(w * v + self.c1 * r1 * (best_x - x) + self.c2 * r2 * (g - x), -self.max_velocity, self.max_velocity)
            x = x + v
            outside = (x < 0.0) | (x > 1.0)
            x, v = np.clip(x, 0.0, 1.0), np.where(outside, 0.0, v)
            cost = function(x)
            improved = cost < best_cost
            best_x[improved], best_cost[improved] = x[improved], cost[improved]
            history.append(best_cost.min())
        best = int(np.argmin(best_cost))
        return OptimizeResult(
            x=lower + best_x[best] * (upper - lower),
            fun=float(best_cost[best]),
            n_evaluations=function.n_evaluations,
            history=np.asarray(history),
        )


class Bargain:
    """Bargain optimisation (BO) after Stanley Raj et al. (2021, J. Current Scientific Research 1(2)).

    The paper frames inversion as a buyer bargaining with sellers: offers (candidate models) are
    haggled over in rounds; a round that yields a better price than the current deal is a profit,
    one that does not is a loss, and the profit/loss per epoch is charted. The bargaining stops when
    the tolerance, taken from the mean absolute deviation, is met.

    Implemented (in the unit cube of the bounds, all offers of a round in one batched call):

    1. ``n_sellers`` offers from a Latin hypercube (the first replaced by ``x0`` when given); the
       deal is the best offer.
    2. Each epoch: the margin is the mean absolute deviation of the offers from the deal, per
       parameter. When its largest value falls below ``tolerance`` the sellers agree with the deal
       and the bargaining ends.
    3. ``n_rounds`` weight-based bargaining rounds: every seller has a weight (its bargaining power)
       from the rank of its offer, 1 for the best, 0 for the worst. A seller concedes towards the
       deal in proportion to (1 - weight), times a uniform random fraction per parameter, and
       haggles around its own offer within +-margin in proportion to its weight. A counter-offer
       that beats the seller's offer replaces it.
    4. Profit of the epoch = deal cost before the epoch - best counter-offer cost of the epoch:
       positive (profit) when the bargaining found a better deal, which becomes the new deal;
       negative (loss) when it failed and the deal stands.

    Inferred: the paper's full method section could not be read here (only its abstract and the
    issue's summary), so the concession/haggling update rules, the rank-based weights, the use of
    the mean absolute deviation of the offers as both the search margin and the stopping tolerance,
    and the profit defined as the change of the objective are this module's reading, not quotations.

    Parameters
    ----------
    n_sellers : int, default 30
        Number of offers bargained over at once.
    max_epochs : int, default 100
    n_rounds : int, default 4
        Bargaining rounds per epoch.
    tolerance : float, default 1e-6
        Stop when the largest per-parameter mean absolute deviation of the offers from the deal,
        as a fraction of the bound width, falls below this.
    random_state : int or numpy.random.Generator, optional

    Attributes
    ----------
    record_ : numpy.ndarray, shape (n_epochs,)
        Profit (> 0) or loss (< 0) of each epoch, in objective units: the profit/loss chart.
    margin_ : numpy.ndarray, shape (n_epochs,)
        Largest mean absolute deviation of the offers from the deal at the start of each epoch.
    """

    def __init__(
        self,
        n_sellers: int = 30,
        max_epochs: int = 100,
        n_rounds: int = 4,
        tolerance: float = 1e-6,
        random_state: int | np.random.Generator | None = None,
    ):
        self.n_sellers = n_sellers
        self.max_epochs = max_epochs
        self.n_rounds = n_rounds
        self.tolerance = tolerance
        self.random_state = random_state

    def minimize(self, objective: Objective, lower: ArrayLike, upper: ArrayLike, x0: ArrayLike | None = None) -> OptimizeResult:
        """Minimise a batched objective inside the bounds by bargaining.

        Parameters
        ----------
        objective : callable
            Maps vectors (batch, n) to costs (batch,).
        lower, upper : array_like, shape (n,)
        x0 : array_like, shape (n,), optional
            Used as the first offer.

        Returns
        -------
        OptimizeResult
            ``history`` holds the deal's cost after each epoch; ``record_`` and ``margin_`` are set
            on the optimiser.
        """
        lower, upper = _check_bounds(lower, upper)
        rng = np.random.default_rng(self.random_state)
        shape = (self.n_sellers, len(lower))
        function = _Counted(objective, lower, upper - lower, ndim=1)
        offers = latin_hypercube(*shape, rng)
        start = _unit_start(x0, lower, upper)
        if start is not None:
            offers[0] = start
        cost = function(offers)
        power = 1.0 - np.arange(self.n_sellers) / max(self.n_sellers - 1, 1)  # by rank: best 1, worst 0
        history, record, margins = [], [], []
        for _ in range(self.max_epochs):
            deal, deal_cost = offers[np.argmin(cost)].copy(), cost.min()
            margin = np.mean(np.abs(offers - deal), axis=0)
            if margin.max() < self.tolerance:
                break
            epoch_best = np.inf
            for _ in range(self.n_rounds):
                weight = np.empty(self.n_sellers)
                weight[np.argsort(cost, kind="stable")] = power
                concession = (1.0 - weight)[:, None] * rng.random(shape) * (deal - offers)
                haggling = weight[:, None] * margin * rng.uniform(-1.0, 1.0, shape)
                counter = np.clip(offers + concession + haggling, 0.0, 1.0)
                counter_cost = function(counter)
                accepted = counter_cost < cost
                offers[accepted], cost[accepted] = counter[accepted], counter_cost[accepted]
                epoch_best = min(epoch_best, counter_cost.min())
            margins.append(margin.max())
            record.append(deal_cost - epoch_best)
            history.append(cost.min())
        self.record_ = np.asarray(record)
        self.margin_ = np.asarray(margins)
        best = int(np.argmin(cost))
        return OptimizeResult(
            x=lower + offers[best] * (upper - lower),
            fun=float(cost[best]),
            n_evaluations=function.n_evaluations,
            history=np.asarray(history),
        )
