"""``python -m grader COMMAND``: grading submissions against the instructor's checks.

Commands for learners (``grader/learner/``):
    watch [EXERCISE]                    grade the exercise you are on (or EXERCISE) at every save
    list                                every exercise and task, its state and points, and the next step
    hint [EXERCISE]                     the next hint for the task you are on
    reset EXERCISE                      start an exercise again from its stub (your file is backed up)

Commands for instructors (``grader/instructor/``, a module each):
    grade SUBMISSION [SUBMISSION ...]   grade folders or zips of exercise modules
    grade SUBMISSION ... --out DIR      batch re-grading into DIR/gradebook.csv (``batch.py``)
    release DEST                        the learner's starter repository
    gradescope DEST.zip                 a Gradescope autograder zip
    stubgen [NAME ...]                  write exercises/ from solutions/ (``--check``: only compare)
    catalog                             write checks/catalog.json, the checks as collected (``--check``: compare)
    check-course                        the course's parts agree: exercises, checks, tasks, hints, stubs, mutants
    fence                               what the workers' fence enforces on this machine (``fence_probe.py``)
"""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["fence"]:
        # Before anything here imports NumPy: the probe's fenced child tries that import itself.
        from grader.instructor import fence_probe

        return fence_probe.run(argv[1:])
    from grader import course
    from grader.instructor import catalog, check_course, fence_probe, grade, gradescope, release, stubgen
    from grader.learner import watch

    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    grade.add_command(commands)
    release.add_command(commands)
    gradescope.add_command(commands)
    stubgen.add_command(commands)
    catalog.add_command(commands)
    check_course.add_command(commands)
    fence_probe.add_command(commands)
    watch.add_commands(commands)
    args = parser.parse_args(argv)
    if course.MANIFEST_ERROR is not None and args.command != "check-course":
        print(f"error: {course.MANIFEST_ERROR} (python -m grader check-course says more)", file=sys.stderr)
        return 2
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
