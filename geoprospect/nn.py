"""Torch helpers shared by every network in the project (models, geophysics, seismic, lithology).

Fitted estimators hold torch modules; :class:`TorchStateMixin` stores them as plain numpy state dicts
when pickled or saved with skops, so a saved model holds no torch object and no pickle. Seeds come from a
scikit-learn ``random_state`` and never touch torch's global generator.
"""

from __future__ import annotations

import contextlib
import itertools
from numbers import Integral

import numpy as np
import torch
from sklearn.utils import check_random_state
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU}


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
                layers.append(ACTIVATIONS[activation]())
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
