"""The grading options, declared once: each one's flag, value, help and default.

``python -m grader grade``, ``gradescope``, ``watch``, ``list``, ``hint`` and
``reset`` register the ones they take in argparse, and the pytest plugin
(``pytest checks``) in pytest, from here (``add_to_parser``,
``add_to_pytest``); the defaults are ``grader/course.py``'s; ``as_arguments``
turns chosen values back into flags, for the pytest process of a grade, a
runner's session or the Gradescope zip's ``grade-options``. A new option is
one entry in ``OPTIONS`` and, where a command takes it, its name there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.course import CHECK_SECONDS, EXERCISES, GRADER_MEMORY_GB, RUN_SECONDS, WATCHDOG_GRACE_SECONDS
from grader.results import RESULT_FORMATS


@dataclass(frozen=True)
class Option:
    """One command-line option.

    Args:
        flag: its spelling, e.g. ``"--check-timeout"``.
        help: what it does, for every command that takes it.
        value: the type of its value (``float``, ``Path``, ``str``); None for a switch.
        metavar: how help names its value.
        choices: the values it takes, if only some.
        repeatable: given more than once, its values add up to a list.
    """

    flag: str
    help: str
    value: type | None = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    repeatable: bool = False

    @property
    def name(self) -> str:
        """Its attribute name: ``--check-timeout`` is ``check_timeout``."""
        return self.flag.lstrip("-").replace("-", "_")


OPTIONS: dict[str, Option] = {option.name: option for option in (
    Option("--exercise", f"grade only this exercise (repeatable; one of {', '.join(EXERCISES)}; default: all)", str,
           "NAME", choices=EXERCISES, repeatable=True),
    Option("--target", "the folder of the modules to grade: exercises (default: your work), solutions (the "
           "reference, in the course's own repository) or any folder of NAME.py files; the CHECKS_TARGET "
           "environment variable does the same", str, "FOLDER"),
    Option("--target-label", "how reports name the graded folder (python -m grader grade stages submissions in a "
           "temporary one)", str, "LABEL"),
    Option("--gradescope-json", "write Gradescope's results.json here", Path, "PATH"),
    Option("--classroom-json", "write the exercism v3 results (GitHub Classroom) here", Path, "PATH"),
    Option("--classroom-json-dir", "write the exercism v3 results one exercise at a time, DIR/NAME.json, each small "
           "enough for one GitHub Actions step output (the release's Classroom workflow)", Path, "DIR"),
    Option("--check-timeout", f"one time limit for every check, in seconds (default: {CHECK_SECONDS:g} s, more for "
           "the checks that train)", float, "SECONDS"),
    Option("--run-timeout", f"deadline of each submission's run (default {RUN_SECONDS:g} s): the checks after it read "
           f"'not run', and a run still going {WATCHDOG_GRACE_SECONDS:g} s later is killed and reads 'did not finish'; on "
           "Gradescope, keep it below Gradescope's own timeout", float, "SECONDS"),
    Option("--grader-memory-gb", "address-space limit of the grading process itself, not its workers (Linux; 0: "
           f"none; default {GRADER_MEMORY_GB:g} for python -m grader grade, none for pytest)", float, "GB"),
    Option("--grading-seed-file", "a file holding an instructor's secret seed: every generated input changes with it, "
           "reproducibly, and the seed never appears on a command line (grade also reads CHECKS_GRADING_SEED; "
           "gradescope copies the file into the zip: keep that zip private)", Path, "PATH"),
    Option("--grading-seed", "an instructor's secret seed (prefer --grading-seed-file: a command line is readable "
           "by other processes of the same user)", str, "SEED"),
    Option("--show-traceback", "add pytest's traceback under each failure, not only the learner's message"),
    Option("--show-fence", "print, under the score table, what held around the learner's code (always in the "
           "result files)"),
    Option("--require-fence", "run nothing of a submission's unless the workers' filesystem fence, network block and "
           "memory and CPU limits hold (Linux with Landlock); where they do not, it is graded 0 with the reason"),
    Option("--all-failures", "print every failing check's message; by default only those of the exercise you are on "
           "(checks not started yet are never printed: they are counted as 'not started')"),
    Option("--grade-untouched-stubs", "run the checks of a module that is still the untouched stub (by default they "
           "read 'not started' at once: the stub's functions all raise NotImplementedError)"),
)}


# What a grading session takes from whoever starts it (a grade's pytest process, a runner's job), besides its
# target and seed; a runner's job carries them by these names (grader/runner/server.py).
SESSION_OPTIONS = ("check_timeout", "run_timeout", "grader_memory_gb", "show_traceback", "require_fence")
RESULT_FILES = tuple(result_format.option for result_format in RESULT_FORMATS)  # their writers: grader/results.py


def add_to_parser(parser, names, **settings) -> None:
    """Registers options in an argparse parser or argument group.

    Args:
        parser: the parser (or group).
        names: the options' names, as in ``OPTIONS``.
        settings: per name, argparse settings that differ here (a ``default``).
    """
    for name in names:
        option = OPTIONS[name]
        arguments: dict = {"help": option.help}
        if option.value is None:
            arguments["action"] = "store_true"
        else:
            arguments.update(type=option.value, metavar=option.metavar, choices=option.choices,
                             action="append" if option.repeatable else "store")
        arguments.update(settings.get(name, {}))
        parser.add_argument(option.flag, **arguments)


def add_to_pytest(group, names) -> None:
    """Registers options in a pytest option group (values as they come, None or False when not given)."""
    for name in names:
        option = OPTIONS[name]
        if option.value is None:
            group.addoption(option.flag, action="store_true", default=False, help=option.help)
        else:
            value = float if option.value is float else None
            group.addoption(option.flag, default=None, type=value, metavar=option.metavar, help=option.help)


def as_arguments(values: dict, separate: bool = False) -> list[str]:
    """The flags that give these values: a switch when true, ``--flag=value`` otherwise; None and False left out.

    Args:
        values: option name -> value (a list or tuple repeats the flag).
        separate: the flag and its value as two items (one per line of Gradescope's ``grade-options``).
    """
    arguments: list[str] = []
    for name, value in values.items():
        option = OPTIONS[name]
        if value is None or value is False:
            continue
        if option.value is None:
            arguments.append(option.flag)
            continue
        for one in value if isinstance(value, (list, tuple)) else (value,):
            text = str(one)
            if isinstance(one, float) and float(f"{one:g}") == one:
                text = f"{one:g}"  # 90, not 90.0: one per line of Gradescope's grade-options, as typed
            arguments += [option.flag, text] if separate else [f"{option.flag}={text}"]
    return arguments
