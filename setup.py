"""Build script for fastconv's compiled core.

Environment switches
--------------------
FASTCONV_NO_OPENMP=1       build without OpenMP (serial kernels, still fully working).
FASTCONV_FAIL_NO_OPENMP=1  fail the build when OpenMP cannot be compiled and run.
FASTCONV_DEBUG=1           turn Cython bounds/wraparound/initialized checks back on, -O0 -g.
                           (Release builds carry no debug information: -g0.)
FASTCONV_NATIVE=1          add -march=native (opt-in; never use it for a wheel you share).
FASTCONV_SANITIZE=address|undefined|address,undefined
                           build with the given sanitizers (see scripts/run_sanitized.sh).
"""

import glob
import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


OPENMP_TEST = textwrap.dedent(
    """
    #include <omp.h>
    #include <stdio.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        printf("%d\\n", n);
        return n >= 1 ? 0 : 1;
    }
    """
)


def _env_flags(*names):
    """The words of the named environment variables (CFLAGS, LDFLAGS, ...), in order."""
    return [w for n in names for w in os.environ.get(n, "").split()]


def _probe_openmp(compiler_cmd):
    """Compile and run a tiny OpenMP program; return (compile_flags, link_flags) or None.

    The probe sees the user's CPPFLAGS/CFLAGS and LDFLAGS, as the real build does: on macOS,
    Homebrew's libomp is found through them (``-I$(brew --prefix libomp)/include`` and
    ``-L$(brew --prefix libomp)/lib``)."""
    candidates = [(["-fopenmp"], ["-fopenmp"]), (["-Xpreprocessor", "-fopenmp"], ["-lomp"])]
    env_c, env_l = _env_flags("CPPFLAGS", "CFLAGS"), _env_flags("LDFLAGS")
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "omp_test.c")
        exe = os.path.join(tmp, "omp_test")
        with open(src, "w") as f:
            f.write(OPENMP_TEST)
        for cflags, lflags in candidates:
            cmd = list(compiler_cmd) + env_c + cflags + [src, "-o", exe] + env_l + lflags
            try:
                subprocess.run(cmd, check=True, capture_output=True, timeout=120)
                out = subprocess.run([exe], check=True, capture_output=True, timeout=60)
            except (OSError, subprocess.SubprocessError):
                continue
            if out.stdout.strip():
                return cflags, lflags
    return None


class BuildExt(build_ext):
    """build_ext that builds the kernel library first (``build_ext --inplace`` and editable
    installs do not run build_clib on their own) and probes OpenMP with the compiler that will
    build the extensions; every extension links the kernel library."""

    def run(self):
        self.run_command("build_clib")
        super().run()

    def build_extensions(self):
        cc = self.compiler.compiler_so[:1] if hasattr(self.compiler, "compiler_so") else ["cc"]
        omp = None
        if _flag("FASTCONV_NO_OPENMP"):
            print("fastconv: OpenMP disabled by FASTCONV_NO_OPENMP", file=sys.stderr)
        else:
            omp = _probe_openmp(cc)
            if omp is None:
                msg = (
                    "fastconv: could not compile and run an OpenMP test program with "
                    f"{' '.join(cc)}; building SERIAL kernels (every function works, on one core). "
                    "Install OpenMP (gcc: libgomp; clang: libomp, e.g. `brew install libomp` with "
                    "CPPFLAGS/LDFLAGS pointing at it) and rebuild for parallel kernels."
                )
                if _flag("FASTCONV_FAIL_NO_OPENMP"):
                    raise RuntimeError(msg + " (FASTCONV_FAIL_NO_OPENMP is set)")
                bar = "!" * 78
                print(f"\n{bar}\nWARNING: {msg}\n{bar}\n", file=sys.stderr)
            else:
                print(f"fastconv: OpenMP found ({' '.join(omp[0])}); building parallel kernels", file=sys.stderr)
        for ext in self.extensions:
            if omp is not None:
                ext.extra_compile_args += omp[0]
                ext.extra_link_args += omp[1]
        super().build_extensions()


def _compile_args():
    # -g0 overrides the -g of Python's own CFLAGS: a release wheel carries no debug information
    args = ["-O3", "-g0", "-ffp-contract=fast", "-fno-math-errno", "-std=gnu11"]
    if _flag("FASTCONV_DEBUG"):
        args = ["-O0", "-g", "-ffp-contract=fast", "-std=gnu11"]
    if _flag("FASTCONV_NATIVE"):
        args.append("-march=native")
    link = []
    san = os.environ.get("FASTCONV_SANITIZE", "").strip()
    if san:
        args += [f"-fsanitize={san}", "-fno-omit-frame-pointer", "-g"]
        link += [f"-fsanitize={san}"]
    # Quiet the harmless warnings Cython's generated code triggers.
    args += ["-Wno-unused-function", "-Wno-unreachable-code"]
    return args, link


def _extensions():
    cargs, largs = _compile_args()
    common = dict(
        include_dirs=[os.path.join(HERE, "include"), np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=list(cargs),
        extra_link_args=list(largs),
        # the drivers include the kernels' headers: rebuild when any of them changes
        depends=HEADERS,
    )
    names = ["_omp", "_direct", "_depthwise", "_winograd", "_pack", "_pool", "_buffers"]
    return [
        Extension(
            f"fastconv.{n}",
            [f"src/fastconv/{n}.pyx"],
            **{k: (list(v) if isinstance(v, list) else v) for k, v in common.items()},
        )
        for n in names
    ]


#: Every kernel header; a change to one rebuilds the kernels and the drivers.
HEADERS = sorted(glob.glob(os.path.join("include", "fastconv", "**", "*.h"), recursive=True))


def _kernel_library():
    """The compiled kernels: one translation unit per variant (include/fastconv/variants.h),
    built once into a static library that every extension links."""
    cargs, _ = _compile_args()
    return (
        "fastconv_kernels",
        {
            "sources": sorted(glob.glob(os.path.join("src", "kernels", "*.c"))),
            "include_dirs": [os.path.join(HERE, "include")],
            "cflags": cargs + ["-fPIC", "-Wno-psabi"],
            "obj_deps": {"": HEADERS},
        },
    )


debug = _flag("FASTCONV_DEBUG")
directives = {
    "language_level": 3,
    "boundscheck": debug,
    "wraparound": debug,
    "initializedcheck": debug,
    "cdivision": True,
    "binding": True,
    "embedsignature": True,
    "autotestdict": False,
}

setup(
    ext_modules=cythonize(
        _extensions(),
        compiler_directives=directives,
        build_dir=os.path.join("build", "cython"),
        include_path=[os.path.join(HERE, "src")],
        quiet=True,
    ),
    libraries=[_kernel_library()],
    cmdclass={"build_ext": BuildExt},
)
