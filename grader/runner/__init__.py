"""A warm grading runner: ``server`` grades one job after another in one process; ``client`` starts and asks it.

The batch, the learner's watch and ``grade()`` in a notebook all reach a
runner through ``client.RunnerProcess``.
"""
