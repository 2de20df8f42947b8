#!/usr/bin/env bash
# Build fastconv with AddressSanitizer and UndefinedBehaviorSanitizer into a scratch virtual
# environment and run the test suite (or the pytest arguments given) under it.
#
#   scripts/run_sanitized.sh                       # whole suite
#   scripts/run_sanitized.sh -q tests/test_pool.py # a subset
#
# The ASan runtime must be loaded before the interpreter (LD_PRELOAD); Python's own
# allocations are not instrumented, so leak detection is off.  Any report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${FASTCONV_SAN_VENV:-$(mktemp -d)/san}"
python3 -m venv "$VENV"
# shellcheck disable=SC1091
. "$VENV/bin/activate"
python -m pip install -q --upgrade pip
python -m pip install -q "setuptools>=77" wheel "Cython>=3.1" "numpy>=1.25" scipy pytest hypothesis
# Build from a clean copy: an in-tree build/ from a normal build would otherwise be reused
# and the extension would not be instrumented.
SRC="$(mktemp -d)/src"
mkdir -p "$SRC"
cp -r setup.py pyproject.toml MANIFEST.in README.md LICENSE include src "$SRC"/
rm -rf "$SRC"/src/fastconv/*.so "$SRC"/src/fastconv/*.c
FASTCONV_SANITIZE=address,undefined python -m pip install -q --no-build-isolation "$SRC"
SO="$(ls "$(python -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')"/fastconv/_direct*.so)"
if ! nm -D "$SO" | grep __asan_ >/dev/null; then  # no -q: an early exit would SIGPIPE nm under pipefail
    echo "run_sanitized: $SO is not instrumented with AddressSanitizer" >&2
    exit 1
fi
ASAN_LIB="$(gcc -print-file-name=libasan.so)"
UBSAN_LIB="$(gcc -print-file-name=libubsan.so)"
export LD_PRELOAD="$ASAN_LIB:$UBSAN_LIB"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
# The source tree has no importable fastconv (src/ layout), so the tests import the
# instrumented build installed above.
if [ "$#" -eq 0 ]; then set -- tests; fi
# --capture=sys: pytest captures Python's sys.stderr only, so a sanitizer report (written to
# file descriptor 2 by the runtime, just before it ends the process) reaches the log; with
# the default descriptor-level capture it would die with the process, leaving only the
# exit status.
python -m pytest -p no:cacheprovider --capture=sys "$@"
