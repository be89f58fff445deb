"""The family benchmark's report (bench/award_families.py): one table over every family and size, with our
figures and HiGHS's side by side and whether each round meets issue 17's targets, kept across runs of
one size at a time. The engines are stand-ins here (the figures are what the writer is tested on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import award_families as bench


def _fake_child(times: dict[str, tuple[float, float]]):
    """bench.award._child without the engines: our total and HiGHS's per family (from the file name)."""

    def child(engine: str, path: str, budget: float) -> dict[str, Any]:
        ours_s, highs_s = times[Path(path).stem.rsplit("-", 1)[0]]
        common = {"vehicles": 300, "cents": 123_456_789, "bound_vehicles": 300, "bound_cents": 123_456_789}
        if engine == "highs":
            return {**common, "optimal": True, "status": "OPTIMAL", "total": highs_s, "first": 1.0, "peak_mb": 90}
        return {**common, "status": "OPTIMAL", "search": "cp-sat", "total": ours_s, "first": 0.1, "valid": True,
                "peak_mb": 80, "stopped_by": "nothing", "work_limit": 6.0, "backups_stopped_by": "nothing"}  # fmt: skip

    return child


def _summary(text: str) -> dict[tuple[str, str], str]:
    """The top table's rows by (family, bids), each row's text; the table must come before any round's details."""
    top = text[: text.index("### ")]
    rows = [line for line in top.splitlines() if line.startswith("| ") and not line.startswith("| family")]
    return {tuple(cell.strip() for cell in row.split("|")[1:3]): row for row in rows}  # type: ignore[misc]


def test_the_report_lists_every_family_and_size_beside_highs_with_met_or_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "_child", _fake_child({"default": (1.5, 10.0), "regions": (6.0, 10.0),
                                                      "idr-prices": (7.0, 10.0)}))  # fmt: skip
    out = tmp_path / "families.md"
    assert bench.main(["--sizes", "200", "--families", "default,regions", "--out", str(out)]) == 0
    rows = _summary(out.read_text(encoding="utf-8"))
    assert len(rows) == len(bench.FAMILIES) * 4  # every family at 200, 2,000, 10,000 and 25,000 bids
    assert rows[("default", "200")].endswith("| 0.15x | 4 of 4 | met |")
    assert "OPTIMAL, 1.50 s" in rows[("default", "200")] and "OPTIMAL, 10.00 s" in rows[("default", "200")]
    assert "1,234,567.89" in rows[("default", "200")]
    # 0.6x HiGHS's time misses the 0.5x target; the "<= 2 s" target is the default round's only.
    assert rows[("regions", "200")].endswith("| 0.60x | 2 of 3 | NOT MET: in <= 0.5x HiGHS's time |")
    assert rows[("arbitrary", "2,000")].endswith("| not run |")

    # A later run of another family adds its row; the earlier rounds stay in the table (the store beside it),
    # and what was written by hand under the history heading stays as it was.
    out.write_text(out.read_text(encoding="utf-8") + f"\n{bench.HISTORY}\n\nA measurement by hand.\n", encoding="utf-8")
    assert bench.main(["--sizes", "200", "--families", "idr-prices", "--out", str(out)]) == 0
    rows = _summary(out.read_text(encoding="utf-8"))
    assert rows[("idr-prices", "200")].endswith("| NOT MET: in <= 0.5x HiGHS's time |")
    assert rows[("default", "200")].endswith("| met |") and rows[("regions", "200")].endswith(
        "NOT MET: in <= 0.5x HiGHS's time |"
    )
    assert out.with_suffix(".jsonl").read_text(encoding="utf-8").count("\n") == 3
    assert out.read_text(encoding="utf-8").endswith(f"{bench.HISTORY}\n\nA measurement by hand.\n")

    # The report can be written again from the store alone, the same table.
    before = _summary(out.read_text(encoding="utf-8"))
    assert bench.main(["--summary-only", "--out", str(out)]) == 0
    assert _summary(out.read_text(encoding="utf-8")) == before
