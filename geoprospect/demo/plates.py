"""The demo plate model: three plates, a trench, a ridge, closed topologies and dated porphyry deposits.

A small regional model in the layout of the global GPlates models (Müller et al. 2016, 2019), so that
the spatio-temporal prospectivity workflow (Diaz-Rodriguez, Müller and Chandra 2021) runs on it
unchanged:

- plate 201, a continent (the overriding plate), drifts 20 degrees over the anchor plate 0 in 240 Myr;
- plate 911, an oceanic plate between a mid-ocean ridge and the trench, subducts eastward under 201
  at a rate that changes stage by stage (fast 0-10, 25-45, 60-80, 110-130, 150-170 and 190-210 Ma;
  slow in between), at every time from 0 to 230 Ma;
- plate 901, an oceanic plate west of the ridge, spreads away from 911 (half-stage ridge).

Files written (all into ``out_dir/"plates"``):

``demo_rotations.rot``
    Hand-written PLATES4 total reconstruction poles (moving plate, time Ma, pole lat, pole lon,
    angle deg, fixed plate, ``!`` comment). The model is meant for 0-230 Ma (``MODEL_MAX_AGE_MA``);
    the poles run to 240 Ma so that velocities at 230 Ma (taken over [231, 230] Ma) are defined.
``demo_plate_boundaries.gpml``
    The topological sections: the subduction zone (``gpml:SubductionZone``, plate 201, polarity
    ``Left``: digitised north to south, so the overriding plate lies east, on its left), the ridge
    (``gpml:MidOceanRidge``, half-stage between 911 and 901) and four model-edge lines (the east
    edge on plate 201, the others fixed on the anchor plate 0).
``demo_topologies.gpml``
    Three ``gpml:TopologicalClosedPlateBoundary`` features built from those sections, resolvable
    with ``pygplates.TopologicalModel`` at any time from 0 to 240 Ma.
``demo_static_polygons.gpml``
    The plates' present-day outlines (``gpml:ClosedPlateBoundary`` with plate ids), for assigning
    plate ids to points.
``demo_coastlines.gpml``
    The continent's coastline (``gpml:Coastline`` polygon, plate 201).
``demo_porphyry_deposits.csv``
    Dated porphyry Cu deposits in the USGS PorCuEX2008 layout (Singer, Berger and Moring 2008):
    ``DepositID, NameDeposit, Country, LatitudeDecimal, LongitudeDecimal, AgeMY, Deposit Age,
    Tonnage`` (Mt), ``Copper grade`` (% Cu), ``Gold grade`` (g/t). Present-day coordinates in
    degrees; ages in Ma (0-100). A few rows have no numeric age and only an age range or a word in
    ``Deposit Age``, as in the real table.
``agegrids/agegrid_{time}.nc``
    Seafloor age grids (Myr, variable ``seafloor_age_myr``; classic NetCDF with ``lon``/``lat``
    cell centres at 1 degree over 180 W-0, 60 S-10 N, anchor frame at that time; NaN on the
    continent and outside the model) every ``AGE_GRID_STEP_MYR`` = 10 Myr from 0 to 230 Ma. The
    ages follow from the ridge (see :func:`seafloor_age_grid`). Kinematics at a time between two
    grids use the grid of the nearest time (``PlateModelFiles.nearest_age_grid_path``).

The deposits follow a stated rule (the ground truth): each forms in the magmatic arc of plate 201
during a fast-convergence stage (85 %) or at any time (15 %), at an arc-trench distance that shrinks
with age (older arcs lie nearer the trench, as along the Andean margin), so that its present-day
position is the inverse rotation of where the arc was at its age.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pygplates
import xarray as xr
from matplotlib.path import Path as PolygonPath

from geoprospect.io.files import atomic_path
from geoprospect.io.plates import write_age_grid

CONTINENT_PLATE_ID = 201
SLAB_PLATE_ID = 911
FAR_OCEAN_PLATE_ID = 901
MODEL_MAX_AGE_MA = 230.0
ROTATIONS_MAX_AGE_MA = 240.0  # the oldest pole of every plate in ROTATIONS_ROT
RIDGE_DIGITISED_MA = 100.0
# Stages of fast convergence of 911 under 201 (see the rotation file): deposits favour them.
FAST_CONVERGENCE_STAGES_MA = ((1.0, 10.0), (26.0, 45.0), (61.0, 80.0))
AGE_GRID_STEP_MYR = 10
# Age-grid cell centres (degrees): 1-degree cells over the model box, whose north and south edges
# stay fixed on plate 0 at 8 N and 58 S between 178 W and 5 W.
AGE_GRID_LON_DEG = np.arange(-179.5, 0.0, 1.0)
AGE_GRID_LAT_DEG = np.arange(-59.5, 10.0, 1.0)

# Total reconstruction poles, written by hand. 911 rotates westward about a pole near the north
# pole relative to 201 (convergence of 2.5-7 cm/yr at the trench), in stages that alternate fast and
# slow every 15-30 Myr; 901 spreads from 911 about the north pole at a constant rate; 201 drifts
# over the anchor (plate 0) so that reconstructions differ from present-day positions. Before
# 110 Ma convergence averages about the half spreading rate, so that the ridge keeps its distance
# from the trench and the subducting seafloor stays 40-140 Myr old. The poles at and below 110 Ma
# date from the 0-100 Ma model and stay unchanged, and with them the deposits.
ROTATIONS_ROT = """\
201    0.0   90.0     0.0    0.00  000 !DEM-ANC Demo continent (overriding plate) - anchor
201   20.0   75.0   120.0    2.50  000 !DEM-ANC
201   50.0   75.0   120.0    6.00  000 !DEM-ANC
201  110.0   75.0   120.0   13.20  000 !DEM-ANC
201  240.0   75.0   120.0   20.00  000 !DEM-ANC
911    0.0   90.0     0.0    0.00  201 !SLB-DEM Demo slab plate - demo continent
911   10.0   80.0   -30.0   -5.50  201 !SLB-DEM fast stage
911   25.0   80.0   -30.0  -10.75  201 !SLB-DEM slow stage
911   45.0   80.0   -30.0  -23.75  201 !SLB-DEM fast stage
911   60.0   80.0   -30.0  -28.25  201 !SLB-DEM slow stage
911   80.0   80.0   -30.0  -40.25  201 !SLB-DEM fast stage
911  110.0   80.0   -30.0  -52.25  201 !SLB-DEM slow stage
911  130.0   80.0   -30.0  -61.25  201 !SLB-DEM fast stage
911  150.0   80.0   -30.0  -66.25  201 !SLB-DEM slow stage
911  170.0   80.0   -30.0  -75.25  201 !SLB-DEM fast stage
911  190.0   80.0   -30.0  -80.25  201 !SLB-DEM slow stage
911  210.0   80.0   -30.0  -89.25  201 !SLB-DEM fast stage
911  240.0   80.0   -30.0  -96.75  201 !SLB-DEM slow stage
901    0.0   90.0     0.0    0.00  911 !FAR-SLB Demo far ocean plate - demo slab plate
901  110.0   90.0     0.0   77.00  911 !FAR-SLB spreading, 7.7 cm/yr full rate at the equator
901  240.0   90.0     0.0  168.00  911 !FAR-SLB spreading, 7.7 cm/yr full rate at the equator
"""

_GPLATES_ID = re.compile(r"GPlates-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def write_plate_model(out_dir: Path, rng: np.random.Generator) -> dict[str, Path | list[Path]]:
    """Write the demo plate model and its dated deposit table.

    Parameters
    ----------
    out_dir : Path
        Root of the demo data; files go into ``out_dir / "plates"``.
    rng : numpy.random.Generator
        Source of all randomness (coastline roughness, deposit ages, positions, sizes, feature ids):
        the same seed writes byte-identical files.

    Returns
    -------
    dict
        ``rotations`` (list of Path), ``topologies`` (list of Path: the boundary sections and the
        closed plate polygons, to be loaded together), ``static_polygons``, ``coastlines`` and
        ``deposits`` (Path each), and ``age_grid``, the seafloor age grids' path template (str with
        a ``{time}`` field, Ma; a grid every ``AGE_GRID_STEP_MYR`` from 0 to ``MODEL_MAX_AGE_MA``).
    """
    folder = Path(out_dir) / "plates"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "rotations": [folder / "demo_rotations.rot"],
        "topologies": [folder / "demo_plate_boundaries.gpml", folder / "demo_topologies.gpml"],
        "static_polygons": folder / "demo_static_polygons.gpml",
        "coastlines": folder / "demo_coastlines.gpml",
        "deposits": folder / "demo_porphyry_deposits.csv",
    }
    with atomic_path(paths["rotations"][0]) as tmp:
        tmp.write_text(ROTATIONS_ROT, encoding="ascii")
    rotation_model = pygplates.RotationModel(str(paths["rotations"][0]))

    sections = _boundary_sections(rotation_model)
    plates = _closed_plate_polygons(sections)
    snapshot = pygplates.TopologicalSnapshot(list(sections.values()) + plates, rotation_model, 0.0)
    static_polygons = [
        pygplates.Feature.create_reconstructable_feature(
            pygplates.FeatureType.gpml_closed_plate_boundary,
            topology.get_resolved_boundary(),
            name=topology.get_feature().get_name(),
            reconstruction_plate_id=topology.get_feature().get_reconstruction_plate_id(),
        )
        for topology in snapshot.get_resolved_topologies()
    ]

    ids: dict[str, str] = {}  # pygplates draws feature ids at random: replace them, consistently across files
    _write_gpml(list(sections.values()), paths["topologies"][0], ids, rng)
    _write_gpml(plates, paths["topologies"][1], ids, rng)
    _write_gpml(static_polygons, paths["static_polygons"], ids, rng)
    _write_gpml([_coastline(rng)], paths["coastlines"], ids, rng)

    deposits = _deposit_table(rotation_model, sections["trench"].get_geometry(), rng)
    with atomic_path(paths["deposits"]) as tmp:
        deposits.to_csv(tmp, index=False, encoding="utf-8")

    (folder / "agegrids").mkdir(exist_ok=True)
    paths["age_grid"] = str(folder / "agegrids" / "agegrid_{time}.nc")
    model = pygplates.TopologicalModel(list(sections.values()) + plates, rotation_model)
    for time_ma in range(0, int(MODEL_MAX_AGE_MA) + 1, AGE_GRID_STEP_MYR):
        grid = seafloor_age_grid(model.topological_snapshot(float(time_ma)), rotation_model, float(time_ma))
        write_age_grid(grid, paths["age_grid"].format(time=time_ma))
    return paths


def seafloor_age_grid(snapshot: pygplates.TopologicalSnapshot, rotation_model: pygplates.RotationModel,
                      time_ma: float) -> xr.DataArray:
    """The demo's seafloor age (Myr) at ``time_ma`` on 1-degree cells: NaN on the continent and outside the model.

    Ages follow from the ridge: the distance of a cell from the ridge divided by the half spreading
    rate. Spreading is a rotation of 901 relative to 911 about the north pole of 911's present-day
    frame, and the half-stage ridge moves by half of it; so, in the frame of the cell's plate, a cell
    ``dlon`` degrees of longitude (about that pole) from the ridge at ``time_ma`` formed when the
    901-911 rotation angle ``A`` reached ``A(time_ma) + 2 dlon``. Inverting the total angle ``A(t)``
    (piecewise linear in the rotation file; extended at the last stage's rate beyond the last
    pole) gives the formation time, exact for the stage-wise spreading rates. Cells are assigned to
    plates by their longitude/latitude inside the resolved plate polygons (the demo's plates never
    cross the antimeridian).

    Returns
    -------
    xarray.DataArray
        float32, dims ``(lat, lon)`` with cell centres in degrees, name ``seafloor_age_myr``.
    """
    lon, lat = np.meshgrid(AGE_GRID_LON_DEG, AGE_GRID_LAT_DEG)
    cells = np.column_stack([lon.ravel(), lat.ravel()])
    age_myr = np.full(len(cells), np.nan)
    ridge = next(section.get_topological_section_geometry() for section in snapshot.get_resolved_topological_sections()
                 if section.get_topological_section_feature().get_feature_type() == pygplates.FeatureType.gpml_mid_ocean_ridge)
    times_ma, angle_deg = _spreading_angle(rotation_model)
    for topology in snapshot.get_resolved_topologies():
        plate_id = topology.get_feature().get_reconstruction_plate_id()
        if plate_id not in (SLAB_PLATE_ID, FAR_OCEAN_PLATE_ID):
            continue
        inside = PolygonPath(topology.get_resolved_boundary().to_lat_lon_array()[:, ::-1]).contains_points(cells)
        if not inside.any():
            continue
        to_plate_frame = rotation_model.get_rotation(time_ma, plate_id).get_inverse()
        ridge_lat, ridge_lon = (to_plate_frame * ridge).to_lat_lon_array().T
        cell_lon, cell_lat = _rotate(to_plate_frame, cells[inside])
        order = np.argsort(ridge_lat)
        east_of_ridge_deg = (cell_lon - np.interp(cell_lat, ridge_lat[order], ridge_lon[order]) + 180.0) % 360.0 - 180.0
        away_deg = np.clip(east_of_ridge_deg if plate_id == SLAB_PLATE_ID else -east_of_ridge_deg, 0.0, None)
        angle_now_deg = np.interp(time_ma, times_ma, angle_deg)
        age_myr[inside] = np.interp(angle_now_deg + 2.0 * away_deg, angle_deg, times_ma) - time_ma
    return xr.DataArray(
        age_myr.reshape(lon.shape).astype(np.float32),
        coords={"lat": AGE_GRID_LAT_DEG, "lon": AGE_GRID_LON_DEG},
        dims=("lat", "lon"),
        name="seafloor_age_myr",
        attrs={"units": "Myr", "long_name": f"seafloor age at {time_ma:g} Ma"},
    )


def _rotate(rotation: pygplates.FiniteRotation, lon_lat_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rotate (n, 2) longitude/latitude points (degrees) with numpy (Rodrigues' formula): pygplates
    point objects cost ~10 us each."""
    pole_lat, pole_lon, angle = np.radians(rotation.get_lat_lon_euler_pole_and_angle_degrees())
    axis = np.array([np.cos(pole_lat) * np.cos(pole_lon), np.cos(pole_lat) * np.sin(pole_lon), np.sin(pole_lat)])
    lon, lat = np.radians(lon_lat_deg).T
    xyz = np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
    turned = (xyz * np.cos(angle) + np.cross(axis, xyz) * np.sin(angle)
              + np.outer(xyz @ axis, axis) * (1.0 - np.cos(angle)))
    return (np.degrees(np.arctan2(turned[:, 1], turned[:, 0])),
            np.degrees(np.arcsin(np.clip(turned[:, 2], -1.0, 1.0))))


def _spreading_angle(rotation_model: pygplates.RotationModel) -> tuple[np.ndarray, np.ndarray]:
    """Total rotation angle (degrees) of 901 relative to 911 about the north pole, at 1-Myr steps to
    the last pole and then extended 10,000 Myr at the last stage's rate (so that any age inverts)."""
    last_ma = ROTATIONS_MAX_AGE_MA
    times_ma = np.arange(0.0, last_ma + 1.0)
    angle_deg = np.array([
        (rotation_model.get_rotation(t, FAR_OCEAN_PLATE_ID, 0.0, SLAB_PLATE_ID) * pygplates.PointOnSphere(0.0, 0.0)).to_lat_lon()[1]
        for t in times_ma
    ])  # the longitude reached by the point (0 N, 0 E): the angle about the pole, below 180 degrees here
    rate = angle_deg[-1] - angle_deg[-2]
    return np.append(times_ma, last_ma + 1e4), np.append(angle_deg, angle_deg[-1] + rate * 1e4)


def trench_longitude_deg(lat_deg: np.ndarray) -> np.ndarray:
    """Present-day trench longitude (degrees) at latitudes ``lat_deg``: a straight margin with an
    eastward bend at 18 S (an orocline like the Arica bend)."""
    return -75.0 + 4.0 * np.exp(-(((np.asarray(lat_deg) + 18.0) / 10.0) ** 2))


def _meridian(lon_deg: float, lat0_deg: float, lat1_deg: float) -> pygplates.PolylineOnSphere:
    lats = np.linspace(lat0_deg, lat1_deg, int(abs(lat1_deg - lat0_deg)) + 1)
    return pygplates.PolylineOnSphere([(lat, lon_deg) for lat in lats])


def _parallel(lat_deg: float, lon0_deg: float, lon1_deg: float) -> pygplates.PolylineOnSphere:
    # 1-degree vertices: a two-point line would follow the great circle, not the parallel
    lons = np.linspace(lon0_deg, lon1_deg, int(abs(lon1_deg - lon0_deg)) + 1)
    return pygplates.PolylineOnSphere([(lat_deg, lon) for lon in lons])


def _boundary_sections(rotation_model: pygplates.RotationModel) -> dict[str, pygplates.Feature]:
    """The lines the plate polygons are built from.

    Every line overshoots its neighbours (trench and ridge span 20 N-70 S, the edges 8 N and 58 S)
    so that neighbours still intersect after 0-100 Myr of relative motion.
    """
    lats = np.linspace(20.0, -70.0, 91)  # north to south: the overriding plate (east) is on the left
    trench = pygplates.Feature.create_tectonic_section(
        pygplates.FeatureType.gpml_subduction_zone,
        pygplates.PolylineOnSphere(list(zip(lats, trench_longitude_deg(lats)))),
        name="Demo trench",
        reconstruction_plate_id=CONTINENT_PLATE_ID,
    )
    trench.set_enumeration(pygplates.PropertyName.gpml_subduction_polarity, "Left")
    # The ridge is digitised where it formed (at 100 Ma) and reverse-reconstructed with half-stage
    # rotations, as GPlates does for ridges.
    ridge = pygplates.Feature.create_tectonic_section(
        pygplates.FeatureType.gpml_mid_ocean_ridge,
        _meridian(-100.0, -85.0, 40.0),
        name="Demo ridge",
        left_plate=SLAB_PLATE_ID,
        right_plate=FAR_OCEAN_PLATE_ID,
        reconstruction_method="HalfStageRotationVersion3",
        reverse_reconstruct=(rotation_model, RIDGE_DIGITISED_MA),
    )
    edges = {
        "north_edge": (_parallel(8.0, -178.0, -5.0), 0),
        "south_edge": (_parallel(-58.0, -178.0, -5.0), 0),
        "east_edge": (_meridian(-35.0, 20.0, -70.0), CONTINENT_PLATE_ID),
        "west_edge": (_meridian(-172.0, 20.0, -70.0), 0),
    }
    sections = {"trench": trench, "ridge": ridge}
    for key, (line, plate_id) in edges.items():
        sections[key] = pygplates.Feature.create_reconstructable_feature(
            pygplates.FeatureType.gpml_unclassified_feature,
            line,
            name=f"Demo model {key.replace('_', ' ')}",
            reconstruction_plate_id=plate_id,
        )
    return sections


def _closed_plate_polygons(sections: dict[str, pygplates.Feature]) -> list[pygplates.Feature]:
    """Topological closed plate polygons: each a ring of sections, neighbours intersecting."""
    rings = {
        CONTINENT_PLATE_ID: ("Demo continent", ("north_edge", "east_edge", "south_edge", "trench")),
        SLAB_PLATE_ID: ("Demo slab plate", ("north_edge", "trench", "south_edge", "ridge")),
        FAR_OCEAN_PLATE_ID: ("Demo far ocean plate", ("north_edge", "ridge", "south_edge", "west_edge")),
    }
    plates = []
    for plate_id, (name, ring) in rings.items():
        polygon = pygplates.GpmlTopologicalPolygon(
            [
                pygplates.GpmlTopologicalSection.create(
                    sections[key], topological_geometry_type=pygplates.GpmlTopologicalPolygon
                )
                for key in ring
            ]
        )
        feature = pygplates.Feature(pygplates.FeatureType.gpml_topological_closed_plate_boundary)
        feature.set_topological_geometry(polygon)
        feature.set_name(name)
        feature.set_reconstruction_plate_id(plate_id)
        plates.append(feature)
    return plates


def _coastline(rng: np.random.Generator) -> pygplates.Feature:
    """The continent's coast: about 100 km inland of the trench in the west, a rough east coast."""
    lats = np.linspace(6.0, -55.0, 62)
    west = trench_longitude_deg(lats) + 0.9 + _smooth_noise(rng, lats.size, 0.25)
    east = -42.0 + 3.0 * np.sin(np.radians(lats * 6.0)) + _smooth_noise(rng, lats.size, 1.0)
    ring = list(zip(lats, west)) + list(zip(lats[::-1], east[::-1]))
    return pygplates.Feature.create_reconstructable_feature(
        pygplates.FeatureType.gpml_coastline,
        pygplates.PolygonOnSphere(ring),
        name="Demo continent coastline",
        reconstruction_plate_id=CONTINENT_PLATE_ID,
    )


def _smooth_noise(rng: np.random.Generator, n: int, amplitude: float) -> np.ndarray:
    """Smooth random wiggles (a 5-point moving average of Gaussian noise) with rms ~ ``amplitude``."""
    noise = np.convolve(rng.normal(0.0, 1.0, n + 4), np.ones(5) / 5.0, mode="valid")
    return amplitude * noise / noise.std()


def _deposit_table(
    rotation_model: pygplates.RotationModel,
    trench: pygplates.PolylineOnSphere,
    rng: np.random.Generator,
    n_deposits: int = 48,
) -> pd.DataFrame:
    """Deposits formed in the arc at their age, given at their present-day positions."""
    in_stage = rng.random(n_deposits) < 0.85
    stage = rng.integers(0, len(FAST_CONVERGENCE_STAGES_MA), n_deposits)
    lo, hi = np.array(FAST_CONVERGENCE_STAGES_MA)[stage].T
    age_ma = np.round(np.where(in_stage, rng.uniform(lo, hi), rng.uniform(1.0, 95.0, n_deposits)), 1)
    along_strike = rng.uniform(0.2, 0.78, n_deposits)  # fraction of trench length: about 2 N to 50 S
    # arc-trench gap in degrees of arc (~290 km today, ~180 km at 80 Ma)
    arc_gap_rad = np.radians(2.6 - 0.012 * age_ma + rng.normal(0.0, 0.15, n_deposits))

    lat, lon = np.empty(n_deposits), np.empty(n_deposits)
    for i in range(n_deposits):
        rotation = rotation_model.get_rotation(float(age_ma[i]), CONTINENT_PLATE_ID)
        arc_point = _inland_point((rotation * trench).to_xyz_array(), along_strike[i], arc_gap_rad[i])
        present = rotation.get_inverse() * pygplates.PointOnSphere(arc_point)
        lat[i], lon[i] = present.to_lat_lon()

    table = pd.DataFrame(
        {
            "DepositID": np.arange(1, n_deposits + 1),
            "NameDeposit": [f"Demo porphyry {i:02d}" for i in range(1, n_deposits + 1)],
            "Country": "Demoland",
            "LatitudeDecimal": np.round(lat, 5),
            "LongitudeDecimal": np.round(lon, 5),
            "AgeMY": age_ma,
            "Deposit Age": [f"{a:g}" for a in age_ma],
            "Tonnage": np.round(rng.lognormal(np.log(200.0), 1.0, n_deposits), 1),
            "Copper grade": np.round(rng.lognormal(np.log(0.45), 0.35, n_deposits), 3),
            "Gold grade": np.round(rng.lognormal(np.log(0.1), 0.8, n_deposits), 3),
        }
    )
    table["AgeMY"] = table["AgeMY"].astype(object)
    # As in the real table: some ages only as text (a range, a word, "n.d."), some ranges beside a number.
    special = rng.choice(n_deposits, size=9, replace=False)
    for row, kind in zip(special, ("nd", "nd", "word", "range", "range", "both", "both", "both", "both")):
        age = age_ma[row]
        if kind in ("nd", "word", "range"):
            table.loc[row, "AgeMY"] = None
        if kind == "nd":
            table.loc[row, "Deposit Age"] = "n.d."
        elif kind == "word":
            table.loc[row, "Deposit Age"] = _epoch_name(age)
        else:  # older bound first, en dash, as in PorCuEX2008 ("6–5")
            table.loc[row, "Deposit Age"] = f"{age + 1.0:g}–{max(age - 1.0, 0.0):g}"
    return table


def _epoch_name(age_ma: float) -> str:
    """A vague, queried period name for an age (ICS 2023 boundaries), as field geologists log it."""
    for top_ma, name in ((23.0, "Neogene?"), (33.9, "Oligocene?"), (56.0, "Eocene?"), (66.0, "Paleocene?")):
        if age_ma < top_ma:
            return name
    return "Late Cretaceous?"


def _inland_point(trench_xyz: np.ndarray, along_strike: float, gap_rad: float) -> tuple[float, float, float]:
    """The point ``gap_rad`` inland (to the left) of the trench at fraction ``along_strike`` of its length.

    ``trench_xyz`` is the trench's (n, 3) unit vectors, digitised with the overriding plate on the left.
    """
    a, b = trench_xyz[:-1], trench_xyz[1:]
    seg_rad = np.arccos(np.clip(np.sum(a * b, axis=1), -1.0, 1.0))
    target = along_strike * seg_rad.sum()
    k = int(np.searchsorted(np.cumsum(seg_rad), target))
    f = (target - (np.cumsum(seg_rad)[k] - seg_rad[k])) / seg_rad[k]
    point = (1.0 - f) * a[k] + f * b[k]
    point /= np.linalg.norm(point)
    left = np.cross(a[k], b[k])  # the great-circle normal of a->b points to the left of travel
    left -= left.dot(point) * point
    left /= np.linalg.norm(left)
    inland = np.cos(gap_rad) * point + np.sin(gap_rad) * left
    return tuple(inland / np.linalg.norm(inland))


def _write_gpml(features: list[pygplates.Feature], path: Path, ids: dict[str, str], rng: np.random.Generator) -> None:
    """Write GPML with feature and revision ids drawn from ``rng`` (same seed, same bytes).

    ``ids`` maps pygplates' random ids to ours; it is shared between files so that the topologies'
    references to their sections stay valid.
    """
    with atomic_path(path) as tmp:
        pygplates.FeatureCollection(features).write(str(tmp))
        text = tmp.read_text(encoding="utf-8")

        def stable(match: re.Match) -> str:
            if match.group(0) not in ids:
                ids[match.group(0)] = f"GPlates-{uuid.UUID(bytes=rng.bytes(16), version=4)}"
            return ids[match.group(0)]

        tmp.write_text(_GPLATES_ID.sub(stable, text), encoding="utf-8")
