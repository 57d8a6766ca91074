"""The runtime: the modules copied into every worker, zygote and judge folder.

They run beside the learner's code (``worker``, ``zygote``), or where the
learner's models are rebuilt and run (``judge``), and speak to the grader in
plain data (``transport``) behind a fence (``fence``). So they import each
other as top-level modules and nothing else of the grader, only the standard
library and, where the learner's objects need them, NumPy and Keras: this
package is the security boundary, and ``FILES`` is what crosses it.
"""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
FILES = tuple(sorted(path.name for path in FOLDER.glob("*.py") if path.name != "__init__.py"))
