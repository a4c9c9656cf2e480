"""The command line shared by the flows: one readable line for bad input, exit code 2."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from geoprospect.errors import InputError
from geoprospect.io.catalog import read_catalog

DEMO_CATALOG = "data/catalogs/demo.yaml"


def run(flow: Callable, description: str) -> None:
    """Parse ``--catalog``/``--outputs``, check the catalog before Prefect starts, run ``flow``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--catalog", default=DEMO_CATALOG, help=f"study-area catalog (default: {DEMO_CATALOG}, the demo region)")
    parser.add_argument("--outputs", default="outputs", help="root folder of the outputs (default: outputs)")
    args = parser.parse_args()
    try:
        read_catalog(args.catalog)  # fail in a second on a bad catalog, not after a server start
        result = flow(catalog=args.catalog, outputs=args.outputs)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(result)
