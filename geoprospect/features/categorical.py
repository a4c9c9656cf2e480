"""Categorical evidence: one indicator layer per class (one-hot encoding of a lithology map).

Machine-learning prospectivity models take a geological map as binary indicator layers, one per
unit, rather than as arbitrary class codes (EIS Toolkit ``one_hot_encode``; Rodriguez-Galiano et al.
2015, *Ore Geology Reviews* 71; Farahbakhsh et al. 2023).
"""

from __future__ import annotations

import re

import numpy as np
import xarray as xr

from geoprospect.errors import InputError


def feature_name(prefix: str, label: str) -> str:
    """``<prefix>_<label>`` in lower case, every run of other characters than letters and digits
    turned into one underscore (``geology``, ``Diorite porphyry`` -> ``geology_diorite_porphyry``)."""
    return re.sub(r"[^0-9a-z]+", "_", f"{prefix}_{label}".lower()).strip("_")


def one_hot(classes: xr.DataArray, names: dict[int, str], background: str | None = None) -> xr.DataArray:
    """Indicator layers of a class raster, one per class: 1 inside the class, 0 elsewhere.

    Parameters
    ----------
    classes : DataArray, shape (y, x)
        Class codes (float, NaN where unmapped), numpy- or dask-backed (the result follows).
    names : dict
        Class code -> class name, as in the cube's ``attrs["classes"][band]``.
    background : str, optional
        None: NaN cells are NaN in every indicator (unmapped ground). A name (``none``): NaN means
        "outside every polygon" (an intrusion layer); NaN cells are 0 in every class indicator and
        1 in an extra indicator of that name.

    Returns
    -------
    DataArray, shape (feature, y, x), float32, named ``<band>_<class>`` along ``feature`` with a
    ``units`` coordinate (``indicator``).

    Raises
    ------
    InputError
        When the raster holds codes that ``names`` does not name (the class table does not match
        the raster), or ``names`` is empty.
    """
    prefix = str(classes.name)
    if not names:
        raise InputError(prefix, "the categorical layer has no class table", "ingest it from a vector layer with a class column")
    found = np.unique(np.asarray(classes.values))
    unknown = sorted(int(c) for c in found[np.isfinite(found)] if int(c) not in names)
    if unknown:
        raise InputError(prefix, f"class codes {unknown} have no name in the class table", "ingest the layer again so that its class table matches the raster")
    codes = {code: feature_name(prefix, label) for code, label in sorted(names.items())}
    if background is not None:
        codes[None] = feature_name(prefix, background)
    if len(set(codes.values())) != len(codes):
        raise InputError(prefix, f"class names collide once made into feature names: {sorted(codes.values())}", "give the classes distinct names")
    mapped = classes.notnull()
    layers = []
    for code in codes:
        if code is None:
            layer = (~mapped).astype("float32")
        else:
            layer = (classes == code).astype("float32")
            layer = layer if background is not None else layer.where(mapped)
        layers.append(layer.drop_vars([c for c in layer.coords if c not in ("y", "x", "spatial_ref")]))
    out = xr.concat(layers, dim="feature").astype("float32")
    return out.assign_coords(feature=list(codes.values()), units=("feature", ["indicator"] * len(codes))).rename(prefix)
