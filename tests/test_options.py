"""The grading options are declared once (``grader/options.py``) and read the same wherever they are registered."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from grader import options
from grader.course import EXERCISES


def parser_for(names) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    options.add_to_parser(parser, names)
    return parser


def test_chosen_values_survive_the_trip_through_flags_and_back():
    """What ``as_arguments`` writes (a grade's pytest process, a runner's session) parses back to the same values."""
    chosen = {"exercise": ["conv", "transfer"], "check_timeout": 90.0, "run_timeout": 1234567.8,
              "grader_memory_gb": 8.0, "grading_seed_file": Path("/secret/seed"), "show_traceback": True,
              "require_fence": True, "show_fence": False, "gradescope_json": None}
    for separate in (False, True):
        parsed = vars(parser_for(chosen).parse_args(options.as_arguments(chosen, separate=separate)))
        assert parsed == {**chosen, "gradescope_json": None}, parsed


def test_a_switch_left_off_and_a_value_not_given_write_nothing():
    assert options.as_arguments({"require_fence": False, "check_timeout": None, "exercise": ()}) == []


def test_gradescope_zip_options_are_one_item_per_line():
    written = options.as_arguments({"exercise": ("conv",), "check_timeout": 90.0, "require_fence": True},
                                   separate=True)
    assert written == ["--exercise", "conv", "--check-timeout", "90", "--require-fence"]


def test_an_exercise_outside_the_course_is_refused_where_the_option_is_taken(capsys):
    with pytest.raises(SystemExit):
        parser_for(["exercise"]).parse_args(["--exercise", "vgg"])
    assert f"choose from {', '.join(repr(name) for name in EXERCISES)}" in capsys.readouterr().err


def test_pytest_and_the_commands_register_the_same_declaration():
    """The plugin's options and ``python -m grader grade``'s come from the same entries: same flag, same help."""
    from grader.engine import plugin

    class Group:
        def __init__(self):
            self.added = {}

        def addoption(self, flag, **settings):
            self.added[flag] = settings

    class Parser:
        def __init__(self):
            self.group = Group()

        def getgroup(self, name):
            return self.group

    registered = Parser()
    plugin.pytest_addoption(registered)
    for flag, settings in registered.group.added.items():
        option = options.OPTIONS[flag.lstrip("-").replace("-", "_")]
        assert option.flag == flag and settings["help"] == option.help
    assert {"--check-timeout", "--run-timeout", "--grading-seed-file", "--require-fence"} <= set(registered.group.added)
