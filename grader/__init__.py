"""The grading engine: the pytest plugin, the worker that runs student code,
the transport between them, the result files, the stub generator and the
``python -m grader`` commands.

The grader process holds the checks, the references, the scores and the
result files, and never imports a learner's module; that runs in a fenced
worker process (``grader.engine``, ``grader.worker``), and only plain data
crosses between the two (``grader.transport``).
"""
