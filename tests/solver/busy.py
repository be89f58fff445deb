"""The solver's command line and a CPU-busy neighbour process, for the tests that a solver's default run gives the same bytes
whatever the machine's load."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[2]

T = TypeVar("T")


def beside_a_busy_neighbour(run: Callable[[], T]) -> T:
    """`run()` while another process keeps a core busy."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        return run()
    finally:
        busy.kill()
        busy.wait()


def run_cli(command: str, path: Path, out: Path) -> dict[str, Any]:
    """`python -m solver COMMAND PATH -o OUT` with a wide safety cap (the default work limits end
    the search); its result document."""
    from solver import io

    proc = subprocess.run(
        [sys.executable, "-m", "solver", command, str(path), "-o", str(out), "--time-limit", "300"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = io.loads(out.read_bytes())
    return result
