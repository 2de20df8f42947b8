"""Run the fastconv benchmark suite (the same as ``fastconv bench``).

Examples
--------
    python benchmarks/run.py                      # everything, 1 thread and all cores
    python benchmarks/run.py --quick              # the one-minute subset
    python benchmarks/run.py --cases C3,C9,I1 --json benchmarks/results/big.json
    python benchmarks/run.py --json benchmarks/results/results.json --plot benchmarks/results/results.png
"""

import sys

from fastconv.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench"] + sys.argv[1:]))
