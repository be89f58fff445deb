"""A fleet's demand lines: post, edit, withdraw, commit, and the live pool progress of each line.

Every rule of a demand line lives in `rules.check_line`, which both the form and the spreadsheet
upload use, so a value gets the same message wherever it is typed. Each use case is one
transaction: it loads the round (deadlines applied by the server clock), checks the phase and
the organization, changes the rows, writes the audit entry and commits once.

One module per concern, their public names re-exported here so callers say `demand.create_line`:
- `quarters`: "2027Q2" and the current quarter (on solver/quarters.py);
- `scope`: the round's segments, regions and quarter a line is checked against, loaded once;
- `rules`: the checks of one line (pure: no session);
- `queries`: the round as a fleet sees it, its lines and totals;
- `lines`: posting, editing and withdrawing a line;
- `commit`: committing draft lines, with or without a deposit;
- `progress`: each line's live progress towards a lot, its pooling outcome, the round's next steps.
"""

from marketplace.services.demand.commit import (
    CommitResult,
    CommitSummary,
    commit_lines,
    commit_summary,
    deposit_due,
    payments_on,
)
from marketplace.services.demand.lines import create_line, snapshot, update_line, withdraw_line
from marketplace.services.demand.progress import Outcome, Progress, Step, next_steps, pool_outcome, pool_progress
from marketplace.services.demand.quarters import current_quarter, quarter_index, quarter_of_index, upcoming_quarters
from marketplace.services.demand.queries import (
    LINE_FILTERS,
    LINE_SORTS,
    Totals,
    committed_totals,
    lines_of,
    lines_query,
    locked_open_round,
    open_round,
    own_lines_query,
    round_for_fleet,
    totals_by_round,
    totals_for,
    totals_of,
)
from marketplace.services.demand.rules import FIELDS, NOTE_MAX, QUANTITY_MAX, SPEC_MAX, CheckedLine, check_line
from marketplace.services.demand.scope import Scope, scope_regions

__all__ = [
    "FIELDS",
    "LINE_FILTERS",
    "LINE_SORTS",
    "NOTE_MAX",
    "QUANTITY_MAX",
    "SPEC_MAX",
    "CheckedLine",
    "CommitResult",
    "CommitSummary",
    "Outcome",
    "Progress",
    "Scope",
    "Step",
    "Totals",
    "check_line",
    "commit_lines",
    "commit_summary",
    "committed_totals",
    "create_line",
    "current_quarter",
    "deposit_due",
    "lines_of",
    "lines_query",
    "locked_open_round",
    "next_steps",
    "open_round",
    "own_lines_query",
    "payments_on",
    "pool_outcome",
    "pool_progress",
    "quarter_index",
    "quarter_of_index",
    "round_for_fleet",
    "scope_regions",
    "snapshot",
    "totals_by_round",
    "totals_for",
    "totals_of",
    "upcoming_quarters",
    "update_line",
    "withdraw_line",
]
