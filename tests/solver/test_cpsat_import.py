"""CP-SAT is imported without pandas (solver.cpsat_import): a fresh process that awards or pools
never loads pandas, and cp_model's pandas helpers still work once something wants them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.solver.award_helpers import contract_example
from tests.solver.test_pooling import doc as pooling_doc
from tests.solver.test_pooling import line

ROOT = Path(__file__).resolve().parents[2]


def _fresh(code: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def test_a_fresh_process_awards_and_pools_without_loading_pandas(tmp_path: Path) -> None:
    award_in, pool_in = tmp_path / "award.json", tmp_path / "pool.json"
    award_in.write_text(json.dumps(contract_example()), encoding="utf-8")
    pool_in.write_text(json.dumps(pooling_doc(line(1), line(2))), encoding="utf-8")
    out = _fresh(
        """
        import json, sys
        import solver
        a = solver.award(json.load(open(sys.argv[1])), time_limit=60)
        p = solver.pool(json.load(open(sys.argv[2])), time_limit=60)
        print(json.dumps([a["status"], "ortools.sat.python.cp_model" in sys.modules, "pandas" in sys.modules]))
        """,
        str(award_in),
        str(pool_in),
    )
    assert json.loads(out) == ["OPTIMAL", True, False]


def test_cp_model_pandas_helpers_still_work_and_import_the_real_pandas() -> None:
    out = _fresh(
        """
        import json, sys
        from solver import cpsat_import
        cpsat_import.load()
        from ortools.sat.python import cp_model
        before = "pandas" in sys.modules
        import pandas as pd
        m = cp_model.CpModel()
        xs = m.new_int_var_series(name="x", index=pd.Index(range(3)), lower_bounds=0, upper_bounds=pd.Series([1, 2, 3]))
        m.maximize(sum(xs))
        s = cp_model.CpSolver()
        s.solve(m)
        stand_in = cp_model.pd
        real = isinstance(pd.Series([1]), stand_in.Series) and not isinstance(1, stand_in.Series)
        real = real and stand_in.Series.__name__ == "Series" and stand_in.Series.dtype is pd.Series.dtype
        real = real and stand_in.DataFrame is pd.DataFrame
        print(json.dumps([before, real, s.values(xs).tolist()]))
        """
    )
    assert json.loads(out) == [False, True, [1, 2, 3]]
