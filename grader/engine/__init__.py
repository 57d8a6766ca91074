"""The grader's side of the fence: the processes it starts, and what comes back from them.

``workers`` starts and supervises the worker, zygote and judge processes and
proxies calls into a learner's module; ``objects`` and ``described`` turn what
a call returned into what the checks read (handles to the judge's copies,
``handles``; plain descriptions); ``verdicts`` is what a check can conclude;
``plugin`` is the pytest plugin that grades a session with them.
"""
