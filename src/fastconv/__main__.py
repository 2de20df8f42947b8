"""``python -m fastconv``: the command-line interface (see :mod:`fastconv.cli`)."""

from fastconv.cli import main

raise SystemExit(main())
