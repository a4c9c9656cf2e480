"""Cost of the cache-integrity check on a warm rerun of a small demo, against the warm rerun itself.

    python benchmarks/cache_check.py [--flow flows.ingest] [--size-m 4000] [--resolution-m 60]

Builds a demo region (not timed), runs the flow's command line cold, then twice warm (every task a
cache hit). The first warm run checks each referenced file by its content hash (nothing remembered
yet), later runs by its ``stat`` signature. Then, in this process, every cache record of the run is
checked again as a warm run checks it (:func:`tasks.caching.is_intact` on each FileRef of each
record), timed with the remembered signatures and with them deleted (every file hashed). Prints the
times and the check's share of the warm run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import demo_catalog, timed_flow_run  # noqa: E402
from tests.reliability.support import recomputed, task_states  # noqa: E402


def _check_all(storage: Path) -> tuple[float, int, int]:
    """Seconds to check every FileRef of every cache record in ``storage``; (seconds, records, files)."""
    from prefect.results import ResultRecord

    from tasks.caching import file_refs, is_intact

    records = [p for p in storage.iterdir() if p.is_file()]
    start = time.perf_counter()
    files = 0
    for path in records:
        refs = list(file_refs(ResultRecord.deserialize(path.read_bytes()).result))
        files += len(refs)
        assert all(is_intact(ref) for ref in refs), path
    return time.perf_counter() - start, len(records), files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flow", default="flows.ingest", help="the flow module to run (default flows.ingest)")
    parser.add_argument("--size-m", type=float, default=4000, help="side of the demo square (default 4000 m)")
    parser.add_argument("--resolution-m", type=float, default=60, help="demo grid spacing (default 60 m)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cache-check-") as tmp:
        root = Path(tmp)
        catalog = demo_catalog(root, args.size_m, args.resolution_m)
        log = root / "run.log"
        cold_s, cold = timed_flow_run(args.flow, catalog, root, log)
        first_s, first = timed_flow_run(args.flow, catalog, root, log)
        warm_s, warm = timed_flow_run(args.flow, catalog, root, log)

        storage = root / "prefect" / "storage"
        os.environ["PREFECT_LOCAL_STORAGE_PATH"] = str(storage)  # where is_intact keeps its signatures
        check_s, records, files = _check_all(storage)
        shutil.rmtree(storage / ".verified")
        hash_s, _, _ = _check_all(storage)

    print(f"demo {args.size_m:g} m at {args.resolution_m:g} m, {args.flow}: {records} cache records referencing {files} files")
    print(f"cold run:                       {cold_s:7.1f} s   task runs computed: {recomputed(task_states(cold))}")
    print(f"first warm run (files hashed):  {first_s:7.1f} s   task runs computed: {recomputed(task_states(first))}")
    print(f"warm run (signatures):          {warm_s:7.1f} s   task runs computed: {recomputed(task_states(warm))}")
    print(f"check of every record, signatures remembered: {check_s:7.3f} s")
    print(f"check of every record, every file hashed:     {hash_s:7.3f} s")
    print(f"check / warm run: {check_s / warm_s:.4f} (signatures), {hash_s / warm_s:.4f} (hashing)")


if __name__ == "__main__":
    main()
