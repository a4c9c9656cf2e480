"""Plate-model snapshots: resolved plate boundaries and reconstructed features at a time (pygplates)."""

from __future__ import annotations

import pygplates


def resolved_sections(topologies: list[pygplates.FeatureCollection], rotations: pygplates.RotationModel, time_ma: float) -> list:
    """The plate-boundary sections of the topologies resolved at ``time_ma`` (Ma)."""
    model = pygplates.TopologicalModel(topologies, rotations)
    return list(model.topological_snapshot(float(time_ma)).get_resolved_topological_sections())


def reconstructed(features: list[pygplates.FeatureCollection], rotations: pygplates.RotationModel, time_ma: float) -> list:
    """Features reconstructed to ``time_ma`` (Ma)."""
    out: list = []
    if features:
        pygplates.reconstruct(features, rotations, out, float(time_ma))
    return out
