"""The grading engine and the ``python -m grader`` commands, a package per role.

- ``grader.remote``: the runtime copied into every worker (worker, fence,
  zygote, judge, transport); it imports nothing else of the grader;
- ``grader.engine``: the grader's side of it (processes, calls, what comes
  back, verdicts) and the pytest plugin;
- ``grader.runner``: a warm grading process (``server``) and its ``client``;
- ``grader.learner``: the learner's commands (watch, list, hint, reset, notebook);
- ``grader.instructor``: the instructor's (grade, batch, release, gradescope,
  stubgen, check-course, fence);
- ``course``, ``options``, ``results``, ``scratch``: the exercises and default
  limits, the grading options (declared once), the result files, temporary folders.

The grader process holds the checks, the references, the scores and the
result files, and never imports a learner's module; that runs in a fenced
worker process, and only plain data crosses between the two.

From a notebook cell: ``from grader import grade; grade("conv")``.
"""


def grade(exercise=None, *, target=None):
    """Grades one exercise of the learner's saved modules (``grader.learner.notebook.grade``)."""
    from grader.learner.notebook import grade as grade_saved

    return grade_saved(exercise, target=target)
