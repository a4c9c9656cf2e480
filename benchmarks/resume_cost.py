"""Resume cost: a rerun after a SIGKILL at about half of a cold run, against the cold run.

    python benchmarks/resume_cost.py [--flow flows.regenerate] [--size-m 4000] [--resolution-m 60] [--kill-at 0.5]

Builds a demo region (not timed), then times the flow's command line (default ``regenerate``, every
pipeline, with small settings: a few models, few epochs, a 60 Myr tectonic history at 2 Myr) cold (fresh
PREFECT_HOME and outputs), starts it again in another fresh folder, kills it with its temporary Prefect server
(SIGKILL to the process group) at ``kill-at`` of the cold time, and times the rerun that resumes it.
Prints both times, their ratio and how many cacheable task runs each computed (the rest were read
from the cache). Both times include the ~10-20 s start of a temporary Prefect server; the goal of
issue 8 is a ratio well under 0.6.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.timing import demo_catalog, timed_flow_run  # noqa: E402
from tests.reliability.support import kill, recomputed, start_flow, task_states


# Small settings for every pipeline, so that a cold regenerate of the 4 km demo takes minutes, not an hour.
SMALL = ("prospectivity: {models: {rf: {model: rf, params: {n_estimators: 100}}, svm: {model: svm}}, imbalance: [none, smote]}\n"
         "inversion: {study_size: tiny}\n"
         "lithology: {models: [svm, mlp, cnn], chip_sizes: [5], seeds: [0], samples_per_class: 100, test_samples_per_class: 100, "
         "block_size_m: 600, epochs: 5}\n"
         "tectonics: {stop_ma: 60, step_myr: 2, models: [rf, svm], n_splits: 3, windows: [[0, 20], [20, 40], [40, 60]], animation: false}\n"
         "seismic: {epochs: 3}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flow", default="flows.regenerate", help="the flow module to run (default flows.regenerate)")
    parser.add_argument("--size-m", type=float, default=4000, help="side of the demo square (default 4000 m)")
    parser.add_argument("--resolution-m", type=float, default=60, help="demo grid spacing (default 60 m)")
    parser.add_argument("--kill-at", type=float, default=0.5, help="kill time as a fraction of the cold run (default 0.5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="resume-cost-") as tmp:
        root = Path(tmp)
        catalog = demo_catalog(root, args.size_m, args.resolution_m, SMALL)

        cold_s, cold_log = timed_flow_run(args.flow, catalog, root / "cold", root / "cold.log")

        killed_log = root / "killed.log"
        process = start_flow(args.flow, catalog, root / "killed" / "outputs", root / "killed" / "prefect", killed_log)
        time.sleep(args.kill_at * cold_s)
        if process.poll() is not None:
            raise RuntimeError("the run ended before the kill: lower --kill-at")
        kill(process)
        finished = sum(n for (_, state), n in task_states(killed_log.read_text()).items() if state in ("Completed", "Cached"))

        rerun_s, rerun_log = timed_flow_run(args.flow, catalog, root / "killed", killed_log)

    cold, rerun = task_states(cold_log), task_states(rerun_log)
    print(f"demo {args.size_m:g} m at {args.resolution_m:g} m, {args.flow}, kill at {args.kill_at:.0%} of the cold run")
    print(f"cold run:                 {cold_s:7.1f} s   task runs computed: {recomputed(cold)} of {sum(cold.values())}")
    print(f"killed run:               {args.kill_at * cold_s:7.1f} s   task runs finished before the kill: {finished}")
    print(f"rerun after the kill:     {rerun_s:7.1f} s   task runs computed: {recomputed(rerun)} "
          f"(cached: {sum(n for (_, s), n in rerun.items() if s == 'Cached')})")
    print(f"resume cost (rerun/cold): {rerun_s / cold_s:7.2f}")


if __name__ == "__main__":
    main()
