"""The inversion pipeline's line step: a bad file is one failed station, the rest of the line inverts."""

import numpy as np
import pytest

from geoprospect.errors import InputError
from geoprospect.geophysics.ves import schlumberger_rhoa
from geoprospect.pipelines.inversion import invert_survey_line
from geoprospect.io.tables import read_csv

AB2 = np.round(np.geomspace(1.5, 300.0, 18), 1)


def _write(path, station, x, rho, thick, ab2=AB2):
    rhoa = schlumberger_rhoa(ab2, rho, thick)
    rows = "\n".join(f"{station},{a},0,{r:.4f},{x},0" for a, r in zip(ab2, rhoa))
    path.write_text("sounding_id,ab2_m,mn2_m,rhoa_ohm_m,x_m,y_m\n" + rows + "\n")
    return path


def test_a_bad_file_is_reported_and_the_rest_of_the_line_inverted(tmp_path):
    paths = [_write(tmp_path / f"s{i}.csv", f"S{i}", 100.0 * i, [100, 10, 300], [5 + 3 * i, 20]) for i in range(3)]
    paths.append(_write(tmp_path / "s3.csv", "S3", 300.0, [100, 10, 300], [10, 20], ab2=AB2[::-1]))  # AB/2 decreasing
    summary = invert_survey_line(paths, "ves", 3, 100.0, tmp_path / "out")
    assert summary["inverted"] == 3 and len(summary["failures"]) == 1 and "s3.csv" in summary["failures"][0]
    stations = read_csv(tmp_path / "out" / "stations.csv")
    assert (stations["rms_percent"] < 1).all()
    assert (tmp_path / "out" / "section.tif").is_file() and (tmp_path / "out" / "failures.csv").is_file()


def test_a_line_with_no_readable_file_is_refused(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("ab2_m,mn2_m\n1,0\n")
    with pytest.raises(InputError, match="no readable VES sounding"):
        invert_survey_line([bad], "ves", 3, 100.0, tmp_path / "out")
    assert not (tmp_path / "out" / "section.tif").exists()
