"""The stub generator: one source of truth, and a student's edits are never lost."""

from __future__ import annotations

import pytest

from grader.instructor import stubgen

SOLUTION = '''"""Task text."""

import numpy as np


def given_helper(x):
    return x


### BEGIN SOLUTION ONLY
def _private_helper(x):
    return x * 2
### END SOLUTION ONLY


def area(width, height):
    """Returns width * height."""
    ### BEGIN SOLUTION
    return _private_helper(width) * height / 2
    ### END SOLUTION
'''


def folders(tmp_path, solution=SOLUTION):
    solutions, exercises = tmp_path / "solutions", tmp_path / "exercises"
    solutions.mkdir()
    (solutions / "shapes.py").write_text(solution)
    return solutions, exercises


def test_stub_keeps_docstrings_and_helpers_and_drops_the_solution():
    stub = stubgen.make_stub(SOLUTION, "shapes")
    assert '    """Returns width * height."""\n    raise NotImplementedError("area: your code goes here")\n' in stub
    assert "def given_helper(x):" in stub and "import numpy as np" in stub
    assert "_private_helper" not in stub and "BEGIN" not in stub and "width) * height" not in stub
    assert stubgen.is_untouched(stub)
    namespace = {}
    exec(compile(stub, "shapes.py", "exec"), namespace)
    with pytest.raises(NotImplementedError):
        namespace["area"](2, 3)


@pytest.mark.parametrize("broken", [
    SOLUTION.replace("    ### END SOLUTION\n", ""),
    SOLUTION.replace("### END SOLUTION ONLY\n", "### END SOLUTION\n"),
    "### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n",
])
def test_unbalanced_markers_are_refused(broken):
    with pytest.raises(stubgen.StubError):
        stubgen.make_stub(broken, "shapes")


def test_generate_check_and_regenerate(tmp_path):
    solutions, exercises = folders(tmp_path)
    log = []
    assert stubgen.generate(check=True, solutions=solutions, exercises=exercises, log=log.append) == 1
    assert stubgen.generate(solutions=solutions, exercises=exercises, log=log.append) == 0
    assert (exercises / "__init__.py").exists()
    assert stubgen.generate(check=True, solutions=solutions, exercises=exercises, log=log.append) == 0
    # The solution changes; the untouched stub follows it.
    (solutions / "shapes.py").write_text(SOLUTION.replace("Returns width", "Gives width"))
    assert stubgen.generate(solutions=solutions, exercises=exercises, log=log.append) == 0
    assert "Gives width" in (exercises / "shapes.py").read_text()


def test_edited_stub_is_kept_unless_forced_then_backed_up(tmp_path):
    solutions, exercises = folders(tmp_path)
    stubgen.generate(solutions=solutions, exercises=exercises, log=lambda m: None)
    stub = exercises / "shapes.py"
    edited = stub.read_text().replace('raise NotImplementedError("area: your code goes here")', "return width * height")
    stub.write_text(edited)
    (solutions / "shapes.py").write_text(SOLUTION.replace("Returns width", "Gives width"))

    log = []
    assert stubgen.generate(solutions=solutions, exercises=exercises, log=log.append) == 1
    assert stub.read_text() == edited
    assert "has your edits" in log[0] and "--force shapes" in log[0]

    assert stubgen.generate(["shapes"], force=True, solutions=solutions, exercises=exercises, log=log.append) == 0
    backups = list((exercises / ".backup").glob("shapes.*.py"))
    assert len(backups) == 1 and backups[0].read_text() == edited
    assert "Gives width" in stub.read_text()


def test_unknown_name_is_refused(tmp_path):
    solutions, exercises = folders(tmp_path)
    log = []
    assert stubgen.generate(["nope"], solutions=solutions, exercises=exercises, log=log.append) == 2
    assert "known: shapes" in log[0]
