"""The instructor's commands: ``grade`` (one submission, or a batch), ``release``, ``gradescope``, ``stubgen``,
``check-course`` and ``fence``.

``submission`` takes an upload apart (only its exercise modules), ``batch``
grades many into a gradebook, ``gradescope`` and ``release`` build what is
handed out, ``stubgen`` makes the stubs from the solutions, ``check_course``
checks that the course's parts agree.
"""
