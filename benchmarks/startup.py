"""Start-up: `ddx assess` for one case against importing its three dependencies.

Runs `ddx assess` (one case, table output) and `python -c "import click,
attrs, tabulate"` in turns, each in a fresh process, and prints the median
wall time of each and their ratio (target: at most 1.6). The ddx package is
byte-compiled first, as `pip install` does (an editable checkout run with
PYTHONDONTWRITEBYTECODE would otherwise compile every module on every run).

    python benchmarks/startup.py
    python benchmarks/startup.py --runs 30
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

TARGET = 1.6
CASE = ["assess", "--cord", "displaced", "--csf", "widened", "--foraminal-extension", "yes"]


def ddx_command() -> list[str]:
    """The installed `ddx` script beside this interpreter, else `python -m ddx`."""
    script = os.path.join(os.path.dirname(sys.executable), "ddx")
    if os.path.exists(script):
        return [script]
    found = shutil.which("ddx")
    return [found] if found else [sys.executable, "-m", "ddx"]


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def compile_package() -> None:
    """Byte-compile the ddx package that the `ddx` command will import."""
    code = "import compileall, os, ddx; compileall.compile_dir(os.path.dirname(ddx.__file__), quiet=1)"
    subprocess.run([sys.executable, "-c", code], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="runs of each command, taken in turns")
    args = parser.parse_args()
    compile_package()
    base_cmd = [sys.executable, "-c", "import click, attrs, tabulate"]
    ddx_cmd = ddx_command() + CASE
    wall(base_cmd), wall(ddx_cmd)  # warm the file cache and the bytecode
    base, ddx = [], []
    for _ in range(args.runs):
        base.append(wall(base_cmd))
        ddx.append(wall(ddx_cmd))
    b, d = statistics.median(base), statistics.median(ddx)
    ratio = d / b
    print(f"python -c 'import click, attrs, tabulate'  median {b * 1000:6.1f} ms over {args.runs} runs")
    print(f"{' '.join(os.path.basename(c) for c in ddx_cmd[:1])} {' '.join(CASE)}  median {d * 1000:6.1f} ms")
    print(f"ratio {ratio:.2f} ({'ok' if ratio <= TARGET else f'above the target {TARGET}'})")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
