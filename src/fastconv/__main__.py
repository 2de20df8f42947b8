"""``python -m fastconv``: the command-line interface (see :mod:`fastconv.cli`)."""

from fastconv.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
