"""A CPU-busy neighbour process, for the tests that a solver's default run gives the same bytes
whatever the machine's load."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def beside_a_busy_neighbour(run: Callable[[], T]) -> T:
    """`run()` while another process keeps a core busy."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        return run()
    finally:
        busy.kill()
        busy.wait()
