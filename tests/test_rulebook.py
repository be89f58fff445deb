"""The README's rulebook table stays true: every row names a definition that exists in its file.

A rule moved to another module without its row fails here, naming the row."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| (?P<rule>[^|]+) \| `(?P<path>[\w/.]+\.py):(?P<name>\w+)` \|$")


def rulebook() -> list[tuple[str, str, str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The rulebook", 1)[1].split("\n## ", 1)[0]
    return [
        (m["rule"].strip(), m["path"], m["name"]) for line in section.splitlines() if (m := ROW.match(line.strip()))
    ]


def defined_names(path: Path) -> set[str]:
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_every_rule_of_the_rulebook_points_at_a_definition_in_its_file() -> None:
    rows = rulebook()
    assert len(rows) >= 20, "the rulebook table was not found in README.md"
    missing = [
        f"{rule}: {path}:{name}"
        for rule, path, name in rows
        if not (ROOT / path).is_file() or name not in defined_names(ROOT / path)
    ]
    assert missing == [], "README rulebook rows whose file:name no longer exists (move the row with the rule)"
