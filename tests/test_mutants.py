"""Every realistic bug kept in tests/mutants/ is caught by at least one check."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT, run_checks
from tests.mutants import all_mutants

MUTANTS = all_mutants()


@pytest.mark.parametrize(("exercise", "mutant"), MUTANTS, ids=[f"{e}-{m.name}" for e, m in MUTANTS])
def test_mutant_is_caught(exercise, mutant, tmp_path):
    target = tmp_path / "mutant"
    target.mkdir()
    source = (ROOT / "solutions" / f"{exercise}.py").read_text()
    (target / f"{exercise}.py").write_text(mutant.apply(source))
    run = run_checks(target, tmp_path, f"checks/test_{exercise}.py", "-x", "-q", *mutant.pytest_args)
    failed = {name: status for name, status in run.statuses().items() if status != "pass"}
    assert run.returncode == 1 and failed, (
        f"no check caught the mutant {mutant.name!r} ({mutant.bug}).\n{run.output[-3000:]}"
    )
    caught = [n for n, t in zip(run.statuses(), run.classroom["tests"]) if t["status"] == "fail"]
    assert caught, f"the mutant {mutant.name!r} only broke the run, no check failed on it:\n{run.output[-3000:]}"
    assert "not started" not in run.messages()[caught[0]], "a mutant is finished code, never 'not started'"
