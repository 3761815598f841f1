"""The switched-on parts' own setup steps, run once by the Gradescope image's setup.sh (``Part.setup``).

    python -m autograder.setup_parts

Prints one line per step; an exception fails setup.sh, and so the upload, where a missing file must show.
"""
from __future__ import annotations

import sys

from autograder import parts


def main() -> int:
    for part in parts.enabled():
        if part.setup is not None:
            print(f"setup of {part.key}: {part.setup()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
