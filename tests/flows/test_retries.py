"""Retries happen on transient I/O failures only; bad input fails at once."""

import pytest
from prefect import flow, task

from geoprospect.errors import InputError
from tasks.caching import retry_on_io
from tasks.ingest import IO_RETRIES


def _flaky(exc: Exception, failures: int):
    calls = {"n": 0}

    @task(**{**IO_RETRIES, "retry_delay_seconds": 0})
    def read() -> int:
        calls["n"] += 1
        if calls["n"] <= failures:
            raise exc
        return calls["n"]

    return read, calls


def test_transient_io_error_is_retried_until_it_succeeds(harness):
    read, calls = _flaky(OSError("NFS hiccup"), failures=2)
    assert flow(read)() == 3 and calls["n"] == 3


def test_bad_input_is_not_retried(harness):
    read, calls = _flaky(InputError("x.tif", "no CRS", "assign one"), failures=5)
    with pytest.raises(InputError):
        flow(read)()
    assert calls["n"] == 1


def test_retry_condition_is_the_one_the_tasks_use():
    assert IO_RETRIES["retry_condition_fn"] is retry_on_io
