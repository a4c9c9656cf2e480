"""The study-area catalog: one YAML file that says where a study area's data are.

The models here are pure (no file access); :func:`geoprospect.io.catalog.read_catalog` parses the
YAML, resolves relative paths against the catalog's folder and checks that the files exist.

A minimal catalog::

    study_area: my_area
    grid: {crs: "EPSG:32611", bounds: [500000, 4300000, 530000, 4330000], resolution_m: 30}
    rasters:
      magnetics: {path: grids/tmi.tif, units: nT}
    scenes:
      landsat8: {sensor: landsat8, path: scenes/LC08/}       # one GeoTIFF per band, or one multi-band file
    vectors:
      geology: {path: geology.gpkg, geometry: polygon, class_column: unit}
      faults: {path: faults.gpkg, geometry: line}
    deposits: {path: deposits.gpkg}

``data/catalogs/demo.yaml`` holds only a ``demo:`` section: the pipeline then builds the demo region
and reads the full catalog the builder writes beside it (a worked example of every section).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator,
                      model_validator)
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from geoprospect.errors import InputError
from geoprospect.sensors import SENSORS

CUBE_SOURCES = "raster, scene, vector with a class_column or point survey with gridding"  # what ingestion stacks into the cube


def _resolve(value: Path, info: ValidationInfo) -> Path:
    """Resolve a relative path against the catalog's folder (passed as validation context)."""
    base = (info.context or {}).get("base")
    return value if value.is_absolute() or base is None else (Path(base) / value).resolve()


FilePath = Annotated[Path, AfterValidator(_resolve)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_crs(value: str) -> str:
    try:
        crs = CRS.from_user_input(value)
    except CRSError:
        raise ValueError(f"unknown CRS {value!r}: give an EPSG code such as 'EPSG:32611' or a WKT") from None
    return crs.to_string()


class GridSpec(_Section):
    """The target grid every layer is aligned onto. ``crs`` must be projected (metres)."""

    crs: str
    bounds: tuple[float, float, float, float] = Field(description="xmin, ymin, xmax, ymax in the grid CRS")
    resolution_m: float = Field(gt=0)
    max_cube_gb: float = Field(default=8, gt=0, description="refuse a grid whose feature cube (cells x layers x 4 bytes) "
                               "would exceed this many GB: a typo in bounds or resolution_m fails at once, not after hours")

    @field_validator("crs")
    @classmethod
    def _projected(cls, value: str) -> str:
        value = _check_crs(value)
        if not CRS.from_user_input(value).is_projected:
            raise ValueError(f"{value} is geographic: the target grid needs a projected CRS in metres, e.g. a UTM zone")
        return value

    @field_validator("bounds")
    @classmethod
    def _ordered(cls, value: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        xmin, ymin, xmax, ymax = value
        if xmax <= xmin or ymax <= ymin:
            raise ValueError("bounds must be [xmin, ymin, xmax, ymax] with xmax > xmin and ymax > ymin")
        return value

    mask: FilePath | None = Field(default=None, description="study-area polygon file: outside it the feature cube (what every pipeline reads), every sample and every map are nodata; the aligned layers under ingest/layers/ keep the whole grid")

    @model_validator(mode="after")
    def _extent(self) -> "GridSpec":
        xmin, ymin, xmax, ymax = self.bounds
        if (xmax - xmin) < 2 * self.resolution_m or (ymax - ymin) < 2 * self.resolution_m:
            if max(abs(xmin), abs(xmax)) <= 180 and max(abs(ymin), abs(ymax)) <= 90:  # a longitude/latitude box
                metres = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True).transform_bounds(xmin, ymin, xmax, ymax)
                raise ValueError(f"bounds look like degrees (longitude/latitude), but {self.crs} is in metres: give them in "
                                 f"metres of the grid CRS; these degrees are about [{', '.join(f'{v:.0f}' for v in metres)}]")
            raise ValueError("bounds must span at least two cells of resolution_m")
        return self


class RasterSource(_Section):
    """A georeferenced raster layer (geophysics grid, DEM, any evidence layer)."""

    path: FilePath
    kind: Literal["continuous", "categorical"] = "continuous"
    units: str = ""
    bands: list[str] | None = Field(default=None, description="names for the bands of a multi-band file")
    nodata: float | None = Field(default=None, description="nodata value when the file does not declare one")


class SceneSource(_Section):
    """A multispectral scene: a folder with one file per band, or one multi-band file."""

    sensor: str
    path: FilePath
    bands: list[str] | None = Field(
        default=None,
        description="bands to use (default: all reflective bands); for a multi-band file without band "
        "descriptions, the names of its bands in order",
    )
    scale: float | None = None
    offset: float | None = None

    @field_validator("sensor")
    @classmethod
    def _known(cls, value: str) -> str:
        if value.lower() not in SENSORS and value.lower() != "generic":
            raise ValueError(f"unknown sensor {value!r}: use one of {', '.join(SENSORS)} or 'generic'")
        return value.lower()


class VectorSource(_Section):
    """A vector layer (GeoPackage, shapefile, GeoJSON, ...)."""

    path: FilePath
    geometry: Literal["point", "line", "polygon"]
    layer: str | None = None
    class_column: str | None = Field(default=None, description="categorical attribute to rasterize (polygons)")


class DepositSource(_Section):
    """Known deposits: a point layer, or a CSV with coordinate columns."""

    path: FilePath
    layer: str | None = None
    x_column: str | None = None
    y_column: str | None = None
    crs: str | None = Field(default=None, description="CRS of a CSV's coordinates (default EPSG:4326)")

    @field_validator("crs")
    @classmethod
    def _crs(cls, value: str | None) -> str | None:
        return None if value is None else _check_crs(value)


class DepositColumns(_Section):
    """Columns of a dated deposit table (CSV), as named in the file. Defaults: the USGS PorCuEX2008
    layout; ``id``, ``age_text`` and ``region`` left empty use ``DepositID`` and ``Deposit Age`` where
    the table has them (else the row number and no age text) and no region."""

    id: str | None = Field(default=None, description="deposit id column (default DepositID if present, else the row number)")
    lon: str = "LongitudeDecimal"
    lat: str = "LatitudeDecimal"
    age: str | None = Field(default="AgeMY", description="numeric age column, Ma")
    age_text: str | None = Field(default=None, description="age as text ('6-5', '8.0±0.1 to 6.7'), used where age is empty "
                                 "(default 'Deposit Age' if present)")
    region: str | None = Field(default=None, description="region label column (e.g. continent): leave-region-out holds "
                               "out these regions instead of lon/lat blocks")


class RasterSeries(_Section):
    """A raster through time (crustal thickness, ...) on a longitude/latitude grid, taken as an extra
    feature ``raster_<name>``: its value at each trench point at each time step (moved ``inland_km``
    into the overriding plate), so that deposits, label-0 samples and candidates all take it at their
    co-registered trench point, as they take the kinematics."""

    path: FilePath = Field(description="a NetCDF with a time dimension (Ma), or a folder of one grid per age "
                           "(NetCDF or GeoTIFF, named by 'pattern')")
    pattern: str | None = Field(default=None, description="in a folder: file name with {time} (Ma), e.g. crust_{time}Ma.nc")
    variable: str | None = Field(default=None, description="NetCDF variable (default: the one over lon/lat)")
    time_dim: str = Field(default="time", description="the NetCDF's time dimension (values in Ma)")
    inland_km: float = Field(default=0.0, ge=0, lt=2000, description="sample this far from the trench point into the "
                             "overriding plate, along the trench normal (e.g. 250 for the arc)")
    max_time_gap_myr: float = Field(default=5.0, ge=0, description="a step farther than this from every grid time gets "
                                    "no value (its samples are reported and dropped)")

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None and "{time}" not in value:
            raise ValueError("pattern must contain {time}, e.g. crust_{time}Ma.nc")
        return value


class PlateModelSource(_Section):
    """A plate model in the EarthByte/GPlates layout, and dated deposits to reconstruct with it."""

    rotations: list[FilePath] = Field(min_length=1)
    topologies: list[FilePath] = Field(min_length=1)
    static_polygons: list[FilePath] = Field(default_factory=list)
    coastlines: list[FilePath] = Field(default_factory=list)
    age_grid: str | None = Field(default=None, description="path template with {time}, e.g. agegrid_{time}.nc")
    deposits: FilePath | None = None
    barren: FilePath | None = Field(default=None, description="dated barren samples (lon, lat, age), same layout as deposits")
    deposit_columns: DepositColumns = Field(default_factory=DepositColumns)
    region_box: tuple[float, float, float, float] | None = Field(
        default=None, description="study region, present-day lon_min, lat_min, lon_max, lat_max (degrees): candidates "
        "are scored on a grid inside it (default: the dated deposits' box, 5 degrees wider)")
    region_polygon: FilePath | None = Field(default=None, description="study region as a polygon file (any CRS), "
                                            "instead of region_box")
    rasters: dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")], RasterSeries] = Field(
        default_factory=dict, description="rasters through time as extra features, by name (e.g. crustal_thickness_km)")

    @field_validator("region_box")
    @classmethod
    def _box(cls, value):
        if value is not None:
            lon0, lat0, lon1, lat1 = value
            if not (-180 <= lon0 < lon1 <= 180 and -90 <= lat0 < lat1 <= 90):
                raise ValueError("region_box is [lon_min, lat_min, lon_max, lat_max] in degrees with lon in [-180, 180], "
                                 "lat in [-90, 90], min < max")
        return value

    @field_validator("age_grid")
    @classmethod
    def _template(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if "{time}" not in value:
            raise ValueError("age_grid must be a path template containing {time}")
        return str(_resolve(Path(value), info))


class SurveyGridding(_Section):
    """How a point survey becomes evidence layers on the target grid (one layer per column).

    ``nearest`` and ``idw`` (inverse distance, scipy KD-tree) are cheap; ``spline`` is verde's
    biharmonic spline (damped), ``kriging`` PyKrige's ordinary kriging. Cells farther than
    ``max_distance_m`` from every sample are nodata (default: 3 times the median spacing between
    neighbouring samples); a ``<survey>_distance_m`` layer says how far the nearest sample is.
    """

    columns: list[str] = Field(min_length=1, description="columns to grid, e.g. [Cu_ppm_511, Fe_ppm_511]")
    transform: Literal["none", "log10"] = Field(default="log10", description="log10 for concentrations; "
                                                "non-positive values are dropped from that layer (reported)")
    method: Literal["nearest", "idw", "spline", "kriging"] = "idw"
    neighbours: int = Field(default=8, ge=1, description="samples per cell for idw")
    power: float = Field(default=2.0, gt=0, description="idw distance power")
    damping: float = Field(default=1e-3, ge=0, description="spline damping (verde.Spline), larger is smoother")
    variogram: Literal["linear", "power", "gaussian", "spherical", "exponential"] = Field(
        default="spherical", description="kriging variogram model (PyKrige)")
    max_distance_m: float | None = Field(default=None, gt=0, description="cells farther from every sample are nodata")
    distance_layer: bool = Field(default=True, description="also add the distance to the nearest sample as a layer")


class PointSurveySource(_Section):
    """Point measurements (geochemistry samples...): shapefile, GeoPackage or CSV."""

    path: FilePath
    columns: list[str] | None = None
    crs: str | None = None
    gridding: SurveyGridding | None = Field(default=None, description="grid these samples onto the target grid as evidence layers")


class SurveySources(_Section):
    """Geophysical surveys along profiles, and point surveys."""

    sp: list[FilePath] = Field(default_factory=list)
    ves: list[FilePath] = Field(default_factory=list)
    tem: list[FilePath] = Field(default_factory=list)
    points: dict[str, PointSurveySource] = Field(default_factory=dict)


class WaveformSources(_Section):
    """Seismic waveforms (anything obspy reads) and their labels."""

    files: list[FilePath] = Field(min_length=1)
    events: FilePath | None = None
    windows: FilePath | None = None


class TruthSources(_Section):
    """Known ground truth (the demo region has it): used only to score models, never as a feature."""

    probability: FilePath | None = None


class ModelSpec(_Section):
    """One model of the prospectivity comparison: a registry name and its parameters."""

    model: str = Field(description="registry name: rf, svm, mlp, gp, logreg, gam, lgbm, pu_rf, pu_lgbm, wofe, fuzzy, ... (geoprospect.models)")
    params: dict[str, Any] = Field(default_factory=dict)


class ProspectivitySpec(_Section):
    """Settings of the prospectivity flow; the defaults compare every model and imbalance option."""

    models: dict[str, ModelSpec] = Field(default_factory=lambda: {
        name: ModelSpec(model=name) for name in ("rf", "svm", "mlp", "gp", "logreg", "gam", "pu_rf", "lgbm", "pu_lgbm", "wofe", "fuzzy")})
    imbalance: list[Literal["none", "smote", "gan"]] = Field(default_factory=lambda: ["none", "smote", "gan"], min_length=1)
    n_folds: int = Field(default=5, ge=2)
    block_size_m: float | None = Field(default=None, gt=0, description="spatial CV block size; default: sized from the data")
    background_samples: int = Field(default=5000, ge=50)
    buffer_m: float = Field(default=500, ge=0, description="no background sample closer than this to a deposit")
    map_sample: int = Field(default=20000, ge=1000, description="valid cells sampled to estimate area fractions")
    spearman_threshold: float | None = Field(default=0.95, gt=0, le=1)
    pca_components: int | None = Field(default=None, ge=1)
    autoencoder_components: int | None = Field(default=None, ge=1, description="append an autoencoder embedding of this size")
    window_cells: int = Field(default=5, ge=3, description="focal statistics window, cells (odd)")
    distance_to: list[str] = Field(default_factory=lambda: ["faults", "intrusions"],
                                   description="vector layers to measure distances to (those present are used)")
    save_model: str | None = Field(default=None, description="label of the model to save; default: the best by the "
                                      "lower bound of the held-out prediction-rate AUC, or the ensemble within one SE of it")
    seed: int = 0
    # Beyond one map per model (issue 16): spreads, explanations, the ensemble.
    uncertainty: bool = Field(default=True, description="map the spread of every model's prediction (PU rounds, "
                              "posterior SD or CV fold models) and rank targets by score and spread")
    ensemble_top: int = Field(default=3, ge=0, description="add a model averaging the percentile ranks of this many best "
                              "models (one run each) by the kept-model criterion (0 or 1: no ensemble)")
    explain_features: int = Field(default=4, ge=0, description="SHAP maps of this many top features of the kept model (0: none)")
    explain_method: Literal["auto", "tree", "sampled"] = Field(
        default="auto", description="SHAP explainer: tree (TreeExplainer: rf, lgbm and their PU variants), sampled "
        "(permutation explainer, any model, on a coarser grid), auto (tree where it can)")
    explain_max_cells: int = Field(default=250_000, ge=100, description="cells explained at most (a coarser grid above "
                                   "it; the sampled explainer explains at most 500)")
    # Speed of the full profile (issue 22): a spread map costs a map per member (5 refitted fold models for most).
    uncertainty_models: int = Field(default=3, ge=0, description="spread maps and target rankings for this many runs: "
                                    "the kept one, then the next best by the kept-model criterion (0: every run)")
    importance_repeats: int = Field(default=3, ge=1, description="shuffles per feature and CV fold of the held-out "
                                    "permutation importances (their mean over folds is reported, with the SD across folds)")

    @field_validator("window_cells")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError("window_cells must be odd (the window is centred on its cell)")
        return value


class LineInversionSettings(_Section):
    """How each sounding of a VES or TEM line is inverted (issue 18).

    Levenberg-Marquardt from ``starts_per_round`` Latin-hypercube starts, repeated with new starts
    until two rounds agree on the minimum or ``rounds`` is reached. ``bounds`` are physical (low,
    high) per parameter (``rho_1_ohm_m``, ``h_1_m``...); resistivities default to 0.1-1e5 ohm m,
    thicknesses to the simulation's range. A fit worse than ``max_rms_percent`` is reported as not
    fitted and left off the section.
    """

    n_layers: int | None = Field(default=None, ge=1, le=8, description="layers; default inversion.n_layers")
    starts_per_round: int = Field(default=8, ge=1, le=256)
    rounds: int = Field(default=4, ge=1, le=64, description="at most this many rounds of starts; stops when two agree")
    max_iter: int = Field(default=50, ge=1, le=1000)
    relative_error: float = Field(default=0.03, gt=0, lt=1, description="relative error of readings without their own")
    bounds: dict[str, tuple[float, float]] = Field(default_factory=dict)
    max_rms_percent: float = Field(default=20.0, gt=0)
    noise_floor_t_per_s: float = Field(default=0.0, ge=0, description="TEM gates with |dBz/dt| below it are dropped")
    network_start: bool = Field(default=False, description="first LM start from a network trained on the line's layout")

    @field_validator("bounds")
    @classmethod
    def _known_parameters(cls, value: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        import re

        for name, (low, high) in value.items():
            if not re.fullmatch(r"rho_[1-8]_ohm_m|h_[1-7]_m", name):
                raise ValueError(f"unknown parameter {name!r}: use rho_<i>_ohm_m or h_<i>_m (layers counted from 1 at the top)")
            if not 0 < low < high:
                raise ValueError(f"bounds of {name} must be 0 < low < high, got ({low}, {high})")
        return value


class InversionSpec(_Section):
    """Settings of the inversion flow: the method comparison studies and the survey-line sections."""

    studies: list[Literal["sp", "ves", "tem"]] = Field(default_factory=lambda: ["sp", "ves", "tem"])
    study_size: Literal["tiny", "full"] = Field(default="full", description="tiny: a quick check; full: the papers' sizes")
    n_layers: int = Field(default=3, ge=2, le=8, description="layers of the station-by-station VES/TEM inversions")
    depth_max_m: float = Field(default=300, gt=0, description="depth of the resistivity sections")
    seed: int = 0
    ves_line: LineInversionSettings = Field(default_factory=LineInversionSettings)
    # A TEM forward costs ~100x a VES one: fewer rounds. 4 starts x 30 iterations per round stopped in
    # local minima on the demo line (S04, 4 layers: 14.8 % RMS where 8 starts x 50 reach 3.4 %).
    tem_line: LineInversionSettings = Field(default_factory=lambda: LineInversionSettings(starts_per_round=8, rounds=3, max_iter=50))
    sp_shape: Literal["sphere", "horizontal_cylinder", "vertical_cylinder", "auto"] = Field(
        default="sphere", description="shape factor of the SP sources; auto: the lowest misfit per anomaly")
    # Off by default: the network trains once per shape factor (~10-30 s on this machine).
    sp_network: bool = Field(default=False, description="SP: the network estimate beside LM, and LM started from it "
                                                        "(2 starts per round until two rounds agree)")


class SeismicSpec(_Section):
    """Settings of the seismic detection flow (windows, split, detectors, scanning)."""

    window_s: float = Field(default=30.0, gt=0)
    sampling_rate_hz: float = Field(default=100.0, gt=0)
    bandpass_hz: tuple[float, float] | None = (1.0, 20.0)
    test_stations: list[str] = Field(default_factory=list, description="held out for the test; default: the last station")
    validation_stations: list[str] = Field(default_factory=list, description="default: the second to last station")
    epochs: int = Field(default=100, ge=1, description="most passes of the CNN over its training chips: a ceiling, "
                        "early stopping on whole blocks of the training fold usually ends training sooner")
    scan_step_s: float = Field(default=10.0, gt=0)
    seed: int = 0
    # -- real archives (issue 23): split by a share of stations, windows laid around picks
    test_fraction: float = Field(default=0.2, gt=0, lt=1, description="share of stations held out for the test "
                                 "(at least one) when test_stations is empty")
    validation_fraction: float = Field(default=0.2, gt=0, lt=1, description="share of stations choosing the "
                                       "thresholds (at least one) when validation_stations is empty")
    p_offset_s: float = Field(default=5.0, ge=0, description="windows laid from picks (no windows table): "
                              "P sits this far into the event window")
    noise_margin_s: float = Field(default=2.0, ge=0, description="windows laid from picks: the noise window ends "
                                  "this long before P")
    absent_channels: list[str] = Field(default_factory=list, description="trace ids (fnmatch patterns) of channels the "
                                       "station lacks but the files carry zero-filled: dropped, not refused as dead")
    ablation_seeds: list[int] = Field(default_factory=lambda: [0, 1, 2], min_length=1,
                                      description="the ablation runs once per seed: mean, SD and a paired test per row")


class LithologySpec(_Section):
    """Settings of the lithology flow (after Shirmard et al. 2022): scenes, labels, models, chips, splits."""

    scenes: list[str] = Field(default_factory=list, description="scene keys to classify; default: every scene")
    bands: dict[str, list[str]] = Field(default_factory=dict, description="bands per scene; default: the reflective bands")
    labels: str | None = Field(default="geology", description="a polygon layer with class_column, or a categorical raster; "
                               "None: unsupervised clustering only")
    class_names: dict[int, str] = Field(default_factory=dict, description="names of a label raster's codes")
    label_nodata: float | None = Field(default=None, description="label raster code that marks unlabelled cells")
    models: list[Literal["svm", "mlp", "cnn"]] = Field(default_factory=lambda: ["svm", "mlp", "cnn"], min_length=1)
    chip_sizes: list[int] = Field(default_factory=lambda: [5, 7], min_length=1, description="CNN chip sides, cells (odd)")
    chip_stride: int = Field(default=2, ge=1, description="spacing of the training chip centres, cells (test: every labelled cell)")
    indices: bool = Field(default=False, description="add band-ratio indices as inputs")
    pca_components: int | None = Field(default=None, ge=1, description="add this many principal components as inputs")
    block_size_m: float | None = Field(default=None, gt=0, description="cross-validation block side; default 30 cells")
    samples_per_class: int = Field(default=800, ge=10, description="training pixels per class and fold")
    test_samples_per_class: int | None = Field(default=None, ge=10, description="cap on the test pixels per class and fold, "
                                               "for huge scenes; default: every labelled pixel is tested")
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1, description="one k-fold run per seed (its own fold "
                             "assignment): mean and SD over seeds; each run already tests every labelled pixel")
    epochs: int = Field(default=100, ge=1, description="most passes of the CNN over its training chips: a ceiling, "
                        "early stopping on whole blocks of the training fold usually ends training sooner")
    clusters: int = Field(default=8, ge=2, description="k-means clusters of the unsupervised map")
    autoencoder_components: int = Field(default=4, ge=1)
    unsupervised: bool = Field(default=True, description="also write the autoencoder + k-means cluster map")
    # k-fold cross-validation and per-model parameters (issue 17)
    n_folds: int = Field(default=5, ge=2, description="folds of the block (and random-pixel) cross-validation")
    buffer_cells: int | None = Field(default=None, ge=0, description="training pixels this close to a test fold are "
                                     "dropped, cells; default (and minimum) the largest chip's half-width")
    model_params: dict[Literal["svm", "mlp", "cnn"], dict[str, Any]] = Field(
        default_factory=dict, description="parameters of each model's estimator over the defaults of "
        "geoprospect.lithology.experiment.DEFAULT_PARAMS, e.g. {mlp: {alpha: 0.001}, svm: {param_grid: {C: [1, 10]}}}")

    @field_validator("chip_sizes")
    @classmethod
    def _odd_chips(cls, value: list[int]) -> list[int]:
        if any(k < 1 or k % 2 == 0 for k in value):
            raise ValueError("chip_sizes must be odd (a chip is centred on its pixel), e.g. [5, 7]")
        return value


class TectonicsSpec(_Section):
    """Settings of the tectonic prospectivity flow (after Diaz-Rodriguez, Müller and Chandra 2021)."""

    start_ma: float = Field(default=0, ge=0)
    stop_ma: float = Field(default=100, gt=0)
    step_myr: float = Field(default=1, gt=0)
    spacing_deg: float = Field(default=0.5, gt=0, description="trench sampling spacing, degrees")
    steps_per_task: int = Field(default=10, ge=1, description="kinematics time steps per cached task: a task costs "
                                "Prefect about 0.1-0.5 s, a demo step 0.06 s, a global model's step seconds")
    radii_deg: list[float] = Field(default_factory=lambda: [1, 3, 5], min_length=1,
                                   description="co-registration search radii, tried in order, degrees; the largest is "
                                   "the cut-off (5 degrees, 555 km: an arc lies 100-400 km from its trench, plus "
                                   "reconstruction error); deposits farther away are listed in samples_report.csv")
    models: list[str] = Field(default_factory=lambda: ["rf", "svm"], min_length=1,
                              description="registry names (geoprospect.models; mlp and gp too): every one is fitted "
                              "per design, scheme and fold, beside two controls")
    n_splits: int = Field(default=5, ge=2)
    region_size_deg: float = Field(default=5, gt=0, description="leave-region-out block side, degrees")
    age_bin_myr: float = Field(default=10, gt=0, description="leave-age-bin-out bin width")
    min_gap_myr: float = Field(default=10, ge=0, description="negatives: at least this far in time from a nearby deposit")
    windows: list[tuple[float, float]] = Field(default_factory=lambda: [(0, 20), (20, 40), (40, 60)], min_length=1)
    map_model: str | None = Field(default=None, description="model scored through time; default: the best by leave-region-out AUC")
    animation: bool = True
    seed: int = 0
    # Sampling designs scored in the CV (geoprospect.tectonics.samples), each with time-only and
    # location-only controls; the first is mapped through time.
    designs: list[Literal["time_matched", "pu", "same_location"]] = Field(
        default_factory=lambda: ["time_matched", "pu", "same_location"], min_length=1,
        description="time_matched: negatives at the positives' times elsewhere on the margin; pu: positive-unlabelled "
        "bagging over margin points at the positives' times; same_location: the deposit places at other times (the paper's)")
    negatives_per_positive: float = Field(default=1.0, gt=0, description="time-matched negatives per positive")
    unlabelled_per_positive: float = Field(default=3.0, gt=0, description="PU: unlabelled margin points per positive")
    exclusion_deg: float = Field(default=2.0, ge=0, description="time-matched negatives: at least this far from a "
                                 "deposit of a time within min_gap_myr (present-day margin positions), degrees")
    pu_rounds: int = Field(default=10, ge=1, description="PU bagging rounds per model")
    candidate_spacing_deg: float = Field(default=1.0, gt=0, description="candidate grid spacing over the region, degrees")
    frames_png: bool = Field(default=True, description="write each animation frame as a PNG beside the GIF")

    @model_validator(mode="after")
    def _range(self) -> "TectonicsSpec":
        if self.stop_ma <= self.start_ma:
            raise ValueError("stop_ma must be greater than start_ma")
        if any(b <= a for a, b in self.windows):
            raise ValueError("each window is [younger_ma, older_ma] with older_ma > younger_ma")
        return self


class DemoSpec(_Section):
    """Build the synthetic demo region into ``folder`` (relative to the catalog) and use it."""

    seed: int = 42
    folder: FilePath = Field(default=Path("../demo"), validate_default=True)
    size_m: float = Field(default=30_000, gt=0)
    resolution_m: float = Field(default=30, gt=0)


class Catalog(_Section):
    """A study area: its name, target grid and sources. Paths are absolute once read."""

    study_area: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    demo: DemoSpec | None = None
    grid: GridSpec | None = None
    rasters: dict[str, RasterSource] = Field(default_factory=dict)
    scenes: dict[str, SceneSource] = Field(default_factory=dict)
    vectors: dict[str, VectorSource] = Field(default_factory=dict)
    deposits: DepositSource | None = None
    plate_model: PlateModelSource | None = None
    surveys: SurveySources = Field(default_factory=SurveySources)
    waveforms: WaveformSources | None = None
    truth: TruthSources = Field(default_factory=TruthSources)
    prospectivity: ProspectivitySpec = Field(default_factory=ProspectivitySpec)
    inversion: InversionSpec = Field(default_factory=InversionSpec)
    seismic: SeismicSpec = Field(default_factory=SeismicSpec)
    lithology: LithologySpec = Field(default_factory=LithologySpec)
    tectonics: TectonicsSpec = Field(default_factory=TectonicsSpec)

    @model_validator(mode="after")
    def _grid_or_demo(self) -> "Catalog":
        if self.demo is None and self.grid is None and self.plate_model is None:  # tectonics alone needs no grid
            raise ValueError("a catalog needs a 'grid' section (or a 'demo' section to build the demo region). Fix: add "
                             "grid: {crs: 'EPSG:<a projected CRS in metres>', bounds: [xmin, ymin, xmax, ymax], resolution_m: ...} "
                             "over the area of your data (soundings and deposit tables too)")
        return self

    def missing_inputs(self) -> dict[str, str]:
        """The pipelines this catalog gives no input to, each with what it lacks (``regenerate`` skips them)."""
        has = {"prospectivity": (self.deposits is not None and self.has_cube_layers(),
                                 "no 'deposits' section" if self.deposits is None else f"no {CUBE_SOURCES} to build the feature cube from"),
               "inversion": (bool(self.surveys.sp or self.surveys.ves or self.surveys.tem), "no survey lines (surveys.sp, .ves or .tem)"),
               "seismic": (self.waveforms is not None, "no 'waveforms' section"),
               "lithology": self._lithology_inputs(),
               "tectonics": (self.plate_model is not None, "no 'plate_model' section")}
        if self.grid is None and self.demo is None:  # a plate-model-only catalog: every gridded pipeline lacks its grid
            has = {name: (False, "no 'grid' section") if name != "tectonics" else value for name, value in has.items()}
            has["ingest"] = (False, "no 'grid' section")
        return {name: f"the catalog has {lacking}" for name, (present, lacking) in has.items() if not present}

    def _lithology_inputs(self) -> tuple[bool, str]:
        labels = self.lithology.labels
        if not self.scenes:
            return False, "no 'scenes' section"
        unknown = sorted(set(self.lithology.scenes) - set(self.scenes))
        if unknown:
            return False, (f"no scene(s) {unknown} (lithology.scenes) among its scenes {sorted(self.scenes)}; name scene keys "
                           "of the 'scenes' section, or leave lithology.scenes out to classify every scene")
        if labels is not None and labels not in self.rasters and not (labels in self.vectors and self.vectors[labels].class_column):
            return False, (f"no class layer '{labels}' for lithology.labels (a vector with class_column, or a categorical raster); "
                           "set lithology.labels to one, or to null to cluster the scenes without labels")
        return True, ""

    def has_cube_layers(self) -> bool:
        """Whether ingestion stacks any layer into the feature cube (the cube prospectivity maps from)."""
        return bool(self.rasters or self.scenes or any(v.class_column for v in self.vectors.values())
                    or any(p.gridding for p in self.surveys.points.values()))

    def require(self, pipeline: str) -> None:
        """Raise an :class:`InputError` naming what the catalog lacks for ``pipeline``, if anything."""
        lacking = self.missing_inputs().get(pipeline)
        if lacking:
            raise InputError(f"catalog {self.study_area}", f"the {pipeline} pipeline cannot run: {lacking}",
                             "add what it lacks to the catalog, or run only the pipelines it has inputs for (regenerate skips the others)")

    def files(self) -> dict[str, Path]:
        """Every input file by its catalog key (``rasters.magnetics``, ``surveys.ves[0]``...)."""
        found: dict[str, Path] = {}

        def walk(value, key: str) -> None:
            if isinstance(value, Path):
                found[key] = value
            elif isinstance(value, BaseModel):
                for name in type(value).model_fields:
                    if not (key == "" and name == "demo"):
                        walk(getattr(value, name), f"{key}.{name}" if key else name)
            elif isinstance(value, dict):
                for name, item in value.items():
                    walk(item, f"{key}.{name}")
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    walk(item, f"{key}[{i}]")

        walk(self, "")
        return found

    @model_validator(mode="after")
    def _categorical_labels(self) -> "Catalog":
        """A label raster is resampled by nearest neighbour, or its codes would be averaged into new ones."""
        labels = self.lithology.labels
        if self.scenes and labels in self.rasters and self.rasters[labels].kind != "categorical":
            raise ValueError(f"lithology.labels names the raster '{labels}', whose kind is "
                             f"{self.rasters[labels].kind}: its class codes would be resampled bilinearly into codes "
                             f"no unit has. Set 'kind: categorical' on rasters.{labels}")
        return self
