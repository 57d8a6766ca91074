"""Loads the grading plugin (``grader/engine/plugin.py``) for the checks in this folder."""

from grader.engine.plugin import *  # noqa: F401,F403 - pytest finds the plugin's hooks and fixtures here
