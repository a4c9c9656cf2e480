from pathlib import Path

# ../shared/realdata beside the project: always there in CI; tests that need it skip without it.
REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"
