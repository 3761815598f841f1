"""``python -m autograder build | grade | regrade | run`` (see autograder/cli.py)."""
import sys

from autograder.cli import main

if __name__ == "__main__":  # guarded: regrade's spawned workers may import this module
    sys.exit(main())
