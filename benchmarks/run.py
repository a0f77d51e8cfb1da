"""Run benchmarks: ``python -m benchmarks.run [names...] [--quick]`` from the repository root.

Prints one JSON line per figure on stdout and nothing else there, so the output can be
appended to a file or piped to ``jq`` as is; progress and diagnostics go to stderr.
A missed target is a measurement, not a failure: the exit code is 0 unless a benchmark
could not run (1) or the command line was wrong (2).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import traceback
from types import FrameType
from typing import Protocol

from benchmarks import (
    api_throughput,
    entity_resolution,
    exchange_hitnohit,
    network_analysis,
    precursors_register,
    seizures_marks,
    spectra_identification,
    substances_screening,
    targeting,
)
from benchmarks.figures import Figure


class Benchmark(Protocol):
    """What a benchmark module provides (checked by mypy against each registered module)."""

    def run(self, *, quick: bool) -> list[Figure]: ...


#: Every benchmark, by the name given on the command line. Explicit on purpose: the runner
#: never imports a module named by its user.
BENCHMARKS: dict[str, Benchmark] = {
    "api_throughput": api_throughput,
    "substances_screening": substances_screening,
    "spectra_identification": spectra_identification,
    "entity_resolution": entity_resolution,
    "network_analysis": network_analysis,
    "precursors_register": precursors_register,
    "targeting": targeting,
    "seizures_marks": seizures_marks,
    "exchange_hitnohit": exchange_hitnohit,
}


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so that every finally block runs: servers started by
    # a benchmark are stopped and temp directories removed even when a CI job is cancelled.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description="Run Interdict's benchmarks; one JSON line per figure on stdout.")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"Benchmarks to run (default: all): {', '.join(BENCHMARKS)}.")
    parser.add_argument("--quick", action="store_true",
                        help="Fewer requests and seconds: a smoke run, not a measurement.")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    signal.signal(signal.SIGTERM, _terminate)

    out = sys.stdout
    failed = []
    for name in args.names or list(BENCHMARKS):
        print(f"running {name}{' (quick)' if args.quick else ''}", file=sys.stderr, flush=True)
        try:
            # Anything a benchmark or the code it drives prints (loggers default to stdout)
            # goes to stderr: stdout carries figures only.
            with contextlib.redirect_stdout(sys.stderr):
                figures = BENCHMARKS[name].run(quick=args.quick)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            print(f"{name} failed", file=sys.stderr, flush=True)
            failed.append(name)
            continue
        for figure in figures:
            out.write(figure.to_json() + "\n")
        out.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
