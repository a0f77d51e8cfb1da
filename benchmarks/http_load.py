"""HTTP load generators: wrk when installed, otherwise a small httpx client process.

Both run in a process of their own, so the generator never shares an interpreter (or a GIL)
with the server it measures, and both are bounded twice: by a number of requests and by a
number of seconds, whichever comes first, so a slow server cannot stall a run.

wrk is preferred: it is C and epoll, so on a small machine it takes far less CPU away from
the server than any Python client and its latencies are not inflated by the client itself.
The httpx fallback keeps the benchmark runnable where wrk is not installed; its figures are
pessimistic and each line says which generator produced it.

Run as ``python -m benchmarks.http_load`` this module is the httpx worker: it reads its job
as JSON on stdin (so a bearer token never shows in the process list) and prints one JSON
result on stdout.
"""

from __future__ import annotations

import json
import math
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

#: Every generator talks to this host only; a benchmark never loads anything else.
LOOPBACK = "127.0.0.1"

#: Marker lines exchanged with the wrk Lua script (see WrkGenerator).
_WRK_LIMIT = "interdict-bench-limit"
_WRK_RESULT = "interdict-bench-result "


class LoadError(RuntimeError):
    """The generator could not produce a measurement (crashed, timed out, bad output)."""


@dataclass(frozen=True)
class Job:
    """What to load: one URL with fixed headers, ``concurrency`` connections kept alive.

    A response slower than ``timeout_seconds`` counts as an error and not as a latency:
    a server that stalls must show as failing, not merely as a long tail (and a request
    still stuck when the run ends would otherwise not be counted at all).
    """

    url: str
    headers: dict[str, str]
    concurrency: int
    max_requests: int
    max_seconds: float
    timeout_seconds: float = 2.0

    def __post_init__(self) -> None:
        if not self.url.startswith(f"http://{LOOPBACK}:"):
            raise ValueError(f"benchmarks only load {LOOPBACK}, not {self.url}")
        if min(self.concurrency, self.max_requests, self.max_seconds,
               self.timeout_seconds) <= 0:
            raise ValueError("concurrency, limits and timeout must be positive")


@dataclass(frozen=True)
class LoadResult:
    """Responses and latencies of one run; ``ok`` counts 2xx/3xx responses only."""

    responses: int
    ok: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        """Successful responses per second: errors must never make a server look faster."""
        return self.ok / self.seconds if self.seconds > 0 else 0.0


class LoadGenerator(Protocol):
    name: str

    def run(self, job: Job, workdir: Path) -> LoadResult: ...


# --- wrk ------------------------------------------------------------------------------------

_WRK_SCRIPT = """\
-- Written by benchmarks.http_load for one run; holds a throwaway token of a temp database.
wrk.method = "GET"
{headers}
local limit = {limit}
local seen = 0

-- Count responses; at the limit stop this thread and tell the harness, which interrupts
-- wrk's timed wait so the reported duration ends when the requests did.
function response(status, headers, body)
  seen = seen + 1
  if seen == limit then
    io.write("{limit_marker}\\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{result_marker}{{"responses":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"duration_us":%d,"p50_us":%d,"p99_us":%d}}\\n',
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99)))
  io.flush()
end
"""


def _lua_string(value: str) -> str:
    """A Lua string literal; JSON's escapes for printable ASCII are valid Lua 5.1 escapes."""
    if not (value.isascii() and value.isprintable()):
        raise ValueError("wrk headers must be printable ASCII")
    return json.dumps(value)


class WrkGenerator:
    """wrk with a generated Lua script: headers, a request limit and a JSON summary.

    wrk itself only knows a duration, so the script counts responses per thread and prints
    a marker at the limit; the harness then sends SIGINT, which ends wrk's timed wait early
    (wrk's own Ctrl-C path), and wrk reports over the time actually spent.
    """

    #: One wrk thread outpaces a Python server many times over, and on a two-core machine
    #: every extra client thread takes CPU from the server being measured.
    threads = 1

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.name = f"wrk {self._version()}"

    def _version(self) -> str:
        proc = subprocess.run([self.executable, "--version"], capture_output=True, text=True,
                              timeout=10, check=False)
        first = (proc.stdout or proc.stderr).split()
        return first[1] if len(first) > 1 else "unknown"

    def run(self, job: Job, workdir: Path) -> LoadResult:
        threads = min(self.threads, job.concurrency)
        per_thread = math.ceil(job.max_requests / threads)
        script = workdir / "wrk-job.lua"
        headers = "\n".join(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}"
                            for k, v in job.headers.items())
        script.write_text(_WRK_SCRIPT.format(headers=headers, limit=per_thread,
                                             limit_marker=_WRK_LIMIT,
                                             result_marker=_WRK_RESULT))
        script.chmod(0o600)
        cmd = [self.executable, f"-t{threads}", f"-c{job.concurrency}",
               f"-d{math.ceil(job.max_seconds)}s",
               f"--timeout={math.ceil(job.timeout_seconds)}s", "-s", str(script), job.url]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True)
        # Should wrk itself hang, give up on it rather than hang the benchmark.
        killer = threading.Timer(job.max_seconds + job.timeout_seconds + 30, proc.kill)
        killer.start()
        stopped = 0
        result: dict[str, Any] | None = None
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.strip() == _WRK_LIMIT:
                    stopped += 1
                    if stopped == threads:
                        proc.send_signal(signal.SIGINT)
                elif line.startswith(_WRK_RESULT):
                    result = json.loads(line[len(_WRK_RESULT):])
            stderr = proc.stderr.read() if proc.stderr else ""
            code = proc.wait()
        finally:
            killer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if result is None:
            raise LoadError(f"wrk exited {code} without a result: {stderr.strip()[-500:]}")
        responses = int(result["responses"])
        status_errors = int(result["status_errors"])
        return LoadResult(responses=responses, ok=responses - status_errors,
                          errors=status_errors + int(result["socket_errors"]),
                          seconds=int(result["duration_us"]) / 1e6,
                          p50_ms=int(result["p50_us"]) / 1000,
                          p99_ms=int(result["p99_us"]) / 1000)


# --- httpx ----------------------------------------------------------------------------------

class HttpxGenerator:
    """The fallback: ``python -m benchmarks.http_load`` with one thread per connection."""

    def __init__(self) -> None:
        import httpx

        self.name = f"httpx {httpx.__version__} (threads)"

    def run(self, job: Job, workdir: Path) -> LoadResult:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.http_load"], input=json.dumps(asdict(job)),
            capture_output=True, text=True, check=False,
            timeout=job.max_seconds + job.timeout_seconds + 60,
            cwd=Path(__file__).resolve().parent.parent)
        if proc.returncode != 0:
            raise LoadError(f"httpx load generator exited {proc.returncode}: "
                            f"{proc.stderr.strip()[-500:]}")
        return LoadResult(**json.loads(proc.stdout))


def _percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list (no interpolation, like most tools)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _httpx_worker(job: Job) -> LoadResult:
    """Run ``job`` from this process: each thread owns one keep-alive connection."""
    import httpx

    lock = threading.Lock()
    issued = 0
    latencies: list[float] = []
    ok = errors = 0
    start = time.perf_counter()
    deadline = start + job.max_seconds

    def take() -> bool:
        nonlocal issued
        with lock:
            if issued >= job.max_requests or time.perf_counter() >= deadline:
                return False
            issued += 1
            return True

    def worker() -> None:
        nonlocal ok, errors
        mine: list[float] = []
        good = bad = 0
        with httpx.Client(headers=job.headers, timeout=job.timeout_seconds) as client:
            while take():
                t0 = time.perf_counter()
                try:
                    response = client.get(job.url)
                    response.read()
                    success = response.status_code < 400
                except httpx.HTTPError:
                    success = False
                mine.append(time.perf_counter() - t0)
                if success:
                    good += 1
                else:
                    bad += 1
        with lock:
            latencies.extend(mine)
            ok += good
            errors += bad

    threads = [threading.Thread(target=worker) for _ in range(job.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    latencies.sort()
    return LoadResult(responses=len(latencies), ok=ok, errors=errors, seconds=seconds,
                      p50_ms=_percentile(latencies, 50) * 1000,
                      p99_ms=_percentile(latencies, 99) * 1000)


def choose_generator() -> LoadGenerator:
    """wrk if it is on PATH (``apt-get install wrk``), else the httpx fallback."""
    wrk = shutil.which("wrk")
    return WrkGenerator(wrk) if wrk else HttpxGenerator()


def main() -> None:
    job = Job(**json.load(sys.stdin))
    sys.stdout.write(json.dumps(asdict(_httpx_worker(job))) + "\n")


if __name__ == "__main__":
    main()
