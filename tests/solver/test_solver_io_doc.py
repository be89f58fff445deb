"""docs/solver-io.md stays true to the code it cites: every file it names exists, every validator
check it names is one of CHECKS, and every check of CHECKS is named there."""

from __future__ import annotations

import re
from pathlib import Path

from solver.award import validate as award_validate
from solver.pooling import validate as pooling_validate

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "solver-io.md").read_text(encoding="utf-8")


def test_every_file_the_contract_names_exists() -> None:
    paths = set(re.findall(r"`((?:solver|marketplace|tests)/[\w/.*-]+?)(?::\w+)?`", DOC))
    assert paths, "no file named in docs/solver-io.md"
    missing = [p for p in sorted(paths) if not any(ROOT.glob(p))]
    assert missing == []


def test_every_check_the_contract_names_is_a_check_of_the_validators_and_back() -> None:
    named = set(re.findall(r"`(check_\w+)`", DOC))
    checks = {c.__name__ for c in (*award_validate.CHECKS, *pooling_validate.CHECKS)}
    assert named - checks == set(), "docs/solver-io.md names checks that do not exist"
    assert {c.__name__ for c in award_validate.CHECKS} - named == set(), "award checks missing from the contract"
