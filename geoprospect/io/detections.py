"""Writing detection tables: a CSV and a QuakeML catalogue (obspy), both written atomically.

QuakeML layout: one :class:`obspy.core.event.Event` per detection (type "earthquake", certainty
"suspected", as the detector finds but does not locate events) holding one automatic
:class:`~obspy.core.event.Pick` at the detection's peak time, on the station's waveform stream id
(network and station codes), with the half-length of the detection as the time uncertainty. The score
and the detection span are kept in the pick's comment, so a QuakeML reader loses nothing of the CSV.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from obspy import UTCDateTime
from obspy.core.event import Catalog, Comment, CreationInfo, Event, Pick, QuantityError, ResourceIdentifier, WaveformStreamID

from geoprospect.io.files import atomic_path
from geoprospect.seismic.scan import DETECTION_COLUMNS

TIME_COLUMNS = ("start_time", "end_time", "peak_time")


def _utc(value) -> UTCDateTime:
    return UTCDateTime(ns=int(pd.Timestamp(value).value))


def write_detections(detections: pd.DataFrame, csv_path: str | Path, quakeml_path: str | Path,
                     method: str = "geoprospect detector") -> tuple[Path, Path]:
    """Write detections as CSV and as QuakeML.

    Parameters
    ----------
    detections : pandas.DataFrame
        From :func:`geoprospect.seismic.scan.scan_stream`: network, station, start_time, end_time,
        peak_time (UTC), peak_score, n_windows.
    csv_path : path
        CSV with those columns, times ISO 8601 UTC (``2024-03-01T00:02:31.500000Z``).
    quakeml_path : path
        QuakeML 1.2 catalogue (see the module notes); ``obspy.read_events`` reads it.
    method : str
        Name of the detector, recorded as the picks' method id and the agency comment.

    Returns
    -------
    (Path, Path)
        The CSV and QuakeML paths.
    """
    missing = [c for c in DETECTION_COLUMNS if c not in detections.columns]
    if missing:
        raise ValueError(f"detections lack column(s) {', '.join(missing)}; pass the table of scan_stream")
    csv_path, quakeml_path = Path(csv_path), Path(quakeml_path)
    table = detections[list(DETECTION_COLUMNS)].copy()
    for column in TIME_COLUMNS:
        table[column] = pd.to_datetime(table[column], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False)

    method_id = ResourceIdentifier(f"smi:local/geoprospect/{method.replace(' ', '_')}")
    catalog = Catalog(description=f"Detections by {method}")
    for row in detections.itertuples(index=False):
        start, end, peak = _utc(row.start_time), _utc(row.end_time), _utc(row.peak_time)
        pick = Pick(time=peak, time_errors=QuantityError(uncertainty=(end - start) / 2),
                    waveform_id=WaveformStreamID(network_code=str(row.network), station_code=str(row.station)),
                    method_id=method_id, evaluation_mode="automatic",
                    comments=[Comment(text=f"detection {start} to {end}, peak score {row.peak_score:.6g}, "
                                           f"{row.n_windows} window(s)")],
                    creation_info=CreationInfo(author=method))
        catalog.append(Event(event_type="earthquake", event_type_certainty="suspected", picks=[pick]))
    with atomic_path(quakeml_path) as tmp:
        catalog.write(str(tmp), format="QUAKEML")
    return csv_path, quakeml_path
