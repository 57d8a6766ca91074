"""The grading engine: the pytest plugin, the worker that runs student code,
the transport between them, the result files, the stub generator and the
``python -m grader`` commands.

The grader process holds the checks, the references, the scores and the
result files, and never imports a learner's module; that runs in a fenced
worker process (``grader.engine``, ``grader.worker``), and only plain data
crosses between the two (``grader.transport``).

From a notebook cell: ``from grader import grade; grade("conv")``.
"""


def grade(exercise=None, *, target=None):
    """Grades one exercise of the learner's saved modules (``grader.notebook.grade``)."""
    from grader.notebook import grade as grade_saved

    return grade_saved(exercise, target=target)
