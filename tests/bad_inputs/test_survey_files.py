"""Bad survey files refused at read time, one InputError each (issues 18 and 20.7)."""

from __future__ import annotations

import pytest

from geoprospect.io.surveys import read_sp_profile, read_tem, read_ves
from tests.bad_inputs.support import raises_input_error, text_file

TEM = "time_s,dbzdt_t_per_s,loop_side_m,current_a\n"


def test_tem_gate_times_decreasing(tmp_path):
    path = text_file(tmp_path, "tem.csv", TEM + "1e-4,-1e-6,50,4\n1e-5,-1e-8,50,4\n")
    raises_input_error(read_tem, path, "gate times time_s not strictly increasing")


def test_tem_single_gate_sounding(tmp_path):
    path = text_file(tmp_path, "tem.csv", TEM + "1e-4,-1e-6,50,4\n")
    raises_input_error(read_tem, path, r"fewer than 2 gate\(s\) in 1 of 1: 'tem' \(1\)")


def test_tem_empty_sounding(tmp_path):
    path = text_file(tmp_path, "tem.csv", TEM)
    raises_input_error(read_tem, path, "header but no data rows")


def test_tem_fast_sounding_without_channels(tmp_path):
    path = text_file(tmp_path, "s.tem", "TEM-FAST 48\tDate:\tx\nPlace:\tp\n#Set\tS1\nTime-Range\t7\tStacks\t1\tdeff= 3 us\tI=4 A\n"
                                        "T-LOOP (m)\t50\tR-LOOP (m)\t50\tTURN=\t1\nComments:\t\nLocation:x=\tNone\n")
    raises_input_error(read_tem, path, "sounding 'S1' has no channel rows")


def test_tem_csv_without_loop_size(tmp_path):
    path = text_file(tmp_path, "tem.csv", "time_s,dbzdt_t_per_s,current_a\n1e-5,-1e-6,4\n1e-4,-1e-8,4\n")
    raises_input_error(read_tem, path, r"the loop size must be given once \(found: none\)")


def test_usf_without_loop_size(tmp_path):
    path = text_file(tmp_path, "s.usf", "/SOUNDING_NAME: A\n/ARRAY: CENTRAL LOOP\n/CURRENT: 3\n/END\nINDEX TIME VOLTAGE\n"
                                        "1 1e-5 1e-3\n2 1e-4 1e-5\n/END\n")
    raises_input_error(read_tem, path, "no /LOOP_SIZE, and the format does not imply one")


@pytest.mark.parametrize(("value", "problem"), [("inf", "infinite values in 'rhoa_ohm_m'"), ("-5", "non-positive apparent resistivity")])
def test_ves_infinite_or_negative_resistivity(tmp_path, value, problem):
    path = text_file(tmp_path, "ves.csv", f"ab2_m,mn2_m,rhoa_ohm_m\n1.5,0.5,100\n3,0.5,{value}\n")
    raises_input_error(read_ves, path, problem)


def test_one_station_sp_profile(tmp_path):
    path = text_file(tmp_path, "sp.csv", "station_m,sp_mv\n0,-12\n")
    raises_input_error(read_sp_profile, path, r"fewer than 4 station\(s\)")


@pytest.mark.parametrize(("columns", "values", "problem"), [
    ("", "", "an offset-loop sounding without the receiver's position"),
    (",rx_offset_x_m,rx_offset_y_m", ",40,0", "lies outside the 50 m x 50 m loop"),
])
def test_offset_loop_sounding_without_an_in_loop_receiver(tmp_path, columns, values, problem):
    from geoprospect.errors import InputError
    from geoprospect.geophysics.sections import invert_sounding

    rows = "".join(f"{t:g},{-1e-3 * (t / 1e-5) ** -2.5:g},50,4,offset{values}\n" for t in (1e-5, 3e-5, 1e-4, 3e-4))
    path = text_file(tmp_path, "tem.csv", f"time_s,dbzdt_t_per_s,loop_side_m,current_a,configuration{columns}\n{rows}")
    with pytest.raises(InputError, match=problem) as info:
        invert_sounding(read_tem(path), "tem", 1, source=str(path))
    assert str(path) in str(info.value) and info.value.fix


def test_ves_line_of_one_file_with_a_misspelt_column_keeps_the_readers_fix(tmp_path):
    # A user's field file with 'App Resistivity' for the apparent resistivity: the error of the line
    # names the file, the column and the reader's own fix (was "fix each file for the reason given").
    from geoprospect.pipelines.inversion import invert_survey_line

    path = text_file(tmp_path, "ves_field.csv", "AB/2 (m),MN/2 (m),App Resistivity\n5,1,1400\n10,1,1263\n20,1,789\n")
    error = raises_input_error(lambda p: invert_survey_line([p], "ves", 3, 100.0, tmp_path / "out"), path,
                               "ves_field.csv: no readable VES sounding: missing column 'rhoa_ohm_m'")
    assert "rename the matching one" in error.fix
