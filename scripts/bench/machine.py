"""The facts a benchmark figure depends on, printed beside it so that two runs can be compared.

The forecaster's figures are not bit-identical across CPUs: Sloth's compiled kernel (a stacked
member) vectorises its sums with fast-math reassociation at the CPU's vector width, so its fits
round differently on another CPU, and an inner-fold choice that two configurations nearly tie on
can flip (docs/forecasting.md, "Figures across machines"). So every table says where it ran.
"""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version

PACKAGES = ("numpy", "scipy", "scikit-learn", "polars", "duckdb", "numba", "torch")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _numba_target() -> str:
    """The CPU numba compiles for: NUMBA_CPU_NAME if set, else the host as LLVM names it."""
    try:
        import llvmlite.binding as llvm
        from numba.core import config
    except ImportError:
        return "-"
    return str(config.CPU_NAME or llvm.get_host_cpu_name())


def _blas_kernel() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "-"
    kernels = [
        f"{i.get('internal_api')} {i.get('architecture', '')}".strip()
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    return ", ".join(dict.fromkeys(kernels)) or "-"


def _versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            continue
    return ", ".join(found)


def describe() -> str:
    """One line: CPU, cores, numba's target CPU, the BLAS kernel, and the numerical packages' versions."""
    import numpy  # noqa: F401  (loads the BLAS that threadpoolctl reports)

    return (
        f"{_cpu_model()}, {os.cpu_count()} cores; numba target {_numba_target()}; BLAS {_blas_kernel()}; "
        f"Python {platform.python_version()}, {_versions()}"
    )


if __name__ == "__main__":
    print(describe())
