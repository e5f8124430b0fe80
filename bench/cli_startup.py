"""Wall time of light `yiju` commands from process start to exit, against a bare interpreter.

    .venv/bin/python bench/cli_startup.py [--home DIR] [-n 5]

Each command runs `-n` times as a fresh process (`python -m assistant …`, what the `yiju` script runs) on a
home that already holds the starter knowledge base (built once before timing, like a user's second call).
Prints the median and the worst wall time per command, the ratio to `python -c pass` measured in the same
run, and the median CPU time (user + system) of the process, which the machine's load does not inflate.
Target (issue 12): `yiju ask` and other light commands ≤ 2 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

COMMANDS: dict[str, list[str]] = {
    "python -c pass (baseline)": ["-c", "pass"],
    "yiju --help": ["-m", "assistant", "--help"],
    "yiju kb list": ["-m", "assistant", "kb", "list"],
    "yiju ask (legal)": ["-m", "assistant", "ask", "公司拖欠工资怎么办？"],
    "yiju ask (medical)": ["-m", "assistant", "ask", "被狗咬伤后要打狂犬疫苗吗？"],
}


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        YIJU_HOME=str(home),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        TOKENIZERS_PARALLELISM="false",
    )
    return env


def _cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _time_once(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh process: CPU time is what the command itself costs, wall
    time is what a user waits on this machine at its current load."""
    cpu = _cpu_children()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return elapsed, _cpu_children() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None, help="data directory (default: a fresh temp dir)")
    parser.add_argument("-n", type=int, default=5, help="runs per command")
    opts = parser.parse_args()
    home = opts.home or Path(tempfile.mkdtemp(prefix="yiju-cli-"))
    env = _env(home)
    _time_once(COMMANDS["yiju ask (legal)"], env)  # builds the starter knowledge base once, untimed
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"home {home}; {opts.n} runs each; load average {load:.1f} on {os.cpu_count()} cores")
    baseline = None
    for name, args in COMMANDS.items():
        runs = [_time_once(args, env) for _ in range(opts.n)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        baseline = baseline or wall
        print(
            f"{name:28s} wall median {wall:5.2f} s  worst {max(r[0] for r in runs):5.2f} s"
            f"  ({wall / baseline:5.1f}× baseline)   CPU median {cpu:5.2f} s"
        )


if __name__ == "__main__":
    main()
