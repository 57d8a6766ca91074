"""The learner's commands: ``watch`` (the screen of ``watch``, ``list``, ``hint``, ``reset``), ``state`` (what each exercise scores and which is next), ``notebook`` (``grade()`` in a cell)."""
