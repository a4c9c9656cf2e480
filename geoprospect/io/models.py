"""Saving and loading fitted models safely: skops, a manifest with hashes, an allow-list of types.

A model is written with skops (``skops.io.dump``), never pickle: loading a skops file instantiates only
the types it is told to trust. Beside the model, ``<name>.manifest.json`` records the model file's
SHA-256, the list of non-default types the file holds (computed with ``skops.io.get_untrusted_types``
at save time), the caller's metadata and the library versions. :func:`load_model` refuses a file whose
hash differs from the manifest (or from the caller's expected hash), and trusts only types that are
both in the manifest and in this module's fixed allow-list: classes of scikit-learn, imbalanced-learn,
numpy and geoprospect's own model and feature modules.

Torch networks inside estimators (the autoencoder, the GAN generator) reach skops as numpy state
dicts (``geoprospect.models.autoencoder.TorchStateMixin``), so no torch deserialiser ever runs.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio
from skops.io.exceptions import UntrustedTypesFoundException

from geoprospect.errors import InputError
from geoprospect.io.files import atomic_path

FORMAT = "geoprospect-model/1"
# Packages (and geoprospect modules) whose classes a saved model may hold.
ALLOWED_MODULES = ("sklearn", "imblearn", "numpy", "geoprospect.models", "geoprospect.features", "geoprospect.lithology",
                   "lightgbm")
# Plain containers outside those packages that fitted models hold (LightGBM keeps its parameters in one).
ALLOWED_TYPES = ("collections.OrderedDict",)
_VERSIONED = ("geoprospect", "scikit-learn", "imbalanced-learn", "skops", "numpy", "torch", "lightgbm")


def manifest_path(path: str | Path) -> Path:
    """The manifest beside a model file: ``rf.skops`` -> ``rf.manifest.json``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.manifest.json")


def is_allowed_type(name: str) -> bool:
    """Whether a fully qualified type name (``"sklearn.tree._tree.Tree"``) is an allowed class."""
    if name in ALLOWED_TYPES:
        return True
    module_name, _, attribute = name.rpartition(".")
    if not any(module_name == root or module_name.startswith(root + ".") for root in ALLOWED_MODULES):
        return False
    try:
        obj = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError):
        return False
    return isinstance(obj, type)


def save_model(model: Any, path: str | Path, metadata: dict | None = None) -> Path:
    """Write a fitted model with skops and its manifest beside it, both atomically.

    Parameters
    ----------
    model : estimator
        A fitted scikit-learn / imbalanced-learn estimator or pipeline (e.g. from
        :func:`geoprospect.models.pipeline.build_pipeline`).
    path : str or Path
        The model file, conventionally ``*.skops``.
    metadata : dict, optional
        JSON-serialisable facts to keep with it (feature names, model name, parameters, training data hash).

    Returns
    -------
    Path
        ``path``. The manifest is :func:`manifest_path` of it.

    Raises
    ------
    InputError
        If the metadata is not JSON-serialisable or the model holds a type outside the allow-list.
    """
    path = Path(path)
    data = _reproducible(sio.dumps(model))
    types = sorted(sio.get_untrusted_types(data=data))
    refused = [name for name in types if not is_allowed_type(name)]
    if refused:
        raise InputError(path, f"the model holds types that could not be loaded safely: {refused}",
                         "save only scikit-learn / imbalanced-learn / geoprospect estimators")
    manifest = {
        "format": FORMAT,
        "files": {path.name: {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}},
        "trusted_types": types,
        "versions": _versions(),
        "metadata": metadata or {},
    }
    try:
        manifest_text = json.dumps(manifest, indent=2, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise InputError(path, f"the model metadata is not JSON-serialisable ({error})",
                         "pass metadata made of strings, numbers, lists and dicts") from None
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    # The manifest goes last: if a run dies between the two writes, the hash check refuses the pair.
    with atomic_path(manifest_path(path)) as tmp:
        tmp.write_text(manifest_text)
    return path


def _reproducible(data: bytes) -> bytes:
    """The skops archive with the same bytes for the same model: skops names references and array files
    by ``id()`` (memory addresses) or a UUID and stamps zip entries with the time; number them in
    order of appearance and fix the timestamps, so a resumed run publishes what an uninterrupted one does."""
    ids: dict[int, int] = {}
    files: dict[str, str] = {}

    def renumber(node):
        if isinstance(node, list):
            return [renumber(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for key, value in node.items():
            if key == "__id__" and isinstance(value, int):
                value = ids.setdefault(value, len(ids))
            elif key == "file" and isinstance(value, str):
                value = files.setdefault(value, f"{len(files)}{Path(value).suffix}")
            out[key] = renumber(value)
        return out

    with zipfile.ZipFile(io.BytesIO(data)) as source:
        entries = {"schema.json": json.dumps(renumber(json.loads(source.read("schema.json"))), indent=2).encode()}
        entries.update({files[info.filename]: _zero_padding(source.read(info)) if info.filename.endswith(".npy") else source.read(info)
                        for info in source.infolist() if info.filename != "schema.json"})
        compression = source.infolist()[0].compress_type
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in sorted(entries):
            target.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), entries[name], compress_type=compression)
    return out.getvalue()


def _zero_padding(npy: bytes) -> bytes:
    """A ``.npy`` whose structured records (a tree's nodes) carry zeros, not stale memory, in their padding."""
    array = np.load(io.BytesIO(npy), allow_pickle=False)
    if array.dtype.names is None:
        return npy
    clean = np.zeros(array.shape, array.dtype)  # calloc: padding included
    for name in array.dtype.names:
        clean[name] = array[name]
    out = io.BytesIO()
    np.save(out, clean, allow_pickle=False)
    return out.getvalue()


def read_manifest(path: str | Path) -> dict:
    """The manifest of the model file ``path`` (format, files and hashes, trusted types, versions, metadata)."""
    path = Path(path)
    manifest_file = manifest_path(path)
    if not manifest_file.is_file():
        raise InputError(path, f"no manifest {manifest_file.name} beside the model file",
                         "load only models written by geoprospect.io.models.save_model, with their manifest")
    try:
        manifest = json.loads(manifest_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(manifest_file, f"the manifest is not valid JSON ({error})", "save the model again") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(manifest_file, f"not a {FORMAT} manifest", "save the model again with this version")
    entry = manifest.get("files", {}).get(path.name)
    if not isinstance(entry, dict) or not isinstance(manifest.get("trusted_types"), list):
        raise InputError(manifest_file, f"the manifest does not describe {path.name}", "save the model again")
    return manifest


def load_model(path: str | Path, expected_sha256: str | None = None) -> tuple[Any, dict]:
    """Load a model saved by :func:`save_model`, after checking its hash and the types it holds.

    Parameters
    ----------
    path : str or Path
        The model file.
    expected_sha256 : str, optional
        The hash the caller knows the file by (e.g. a task's file reference); checked as well as the
        manifest's.

    Returns
    -------
    model : estimator
        The fitted model, ready for ``predict_proba``.
    metadata : dict
        The metadata given to :func:`save_model`.

    Raises
    ------
    InputError
        Missing file or manifest; "model file changed since it was saved" on a hash mismatch; a type
        outside the allow-list, in the manifest or in the file.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "model file not found", "check the path, or train and save the model first")
    manifest = read_manifest(path)
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    for expected in (manifest["files"][path.name].get("sha256"), expected_sha256):
        if expected is not None and digest != expected:
            raise InputError(path, f"model file changed since it was saved (sha256 {digest[:12]}..., "
                                   f"expected {str(expected)[:12]}...)",
                             "restore the saved file or train and save the model again")
    trusted = manifest["trusted_types"]
    refused = [name for name in trusted if not isinstance(name, str) or not is_allowed_type(name)]
    if refused:
        raise InputError(manifest_path(path), f"the manifest trusts types outside the allow-list: {refused}",
                         "load only models written by geoprospect.io.models.save_model")
    try:
        model = sio.loads(data, trusted=trusted)
    except UntrustedTypesFoundException as error:
        raise InputError(path, f"the model file holds types its manifest does not trust ({error})",
                         "load only models written by geoprospect.io.models.save_model") from None
    return model, manifest["metadata"]


def _versions() -> dict[str, str | None]:
    found = {}
    for package in _VERSIONED:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found
