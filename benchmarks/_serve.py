"""Serve Interdict (or the bare-FastAPI baseline) for a benchmark, in a process of its own.

Run as ``python -m benchmarks._serve --port P (--data-dir DIR | --baseline)``. The server
is served exactly as ``interdict serve`` serves it (uvicorn, same log level, no proxy
headers) but always on 127.0.0.1 and without background workers, whose polling would add
noise to a read benchmark. :func:`served` is the harness side: it starts this module, waits
until it answers and always stops it.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from fastapi import FastAPI

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent

#: The baseline's only endpoint, and what it returns: a small constant JSON list.
BASELINE_PATH = "/items"
BASELINE_ITEMS = [{"id": i, "title": f"item {i}", "score": 0.5} for i in range(3)]


class ServerError(RuntimeError):
    """The server process did not come up (its log tail is in the message)."""


def baseline_app() -> FastAPI:
    """The framework ceiling: a bare FastAPI app with one GET returning a constant list.

    The endpoint is a plain ``def``, like every Interdict handler, so the baseline pays the
    same threadpool hand-off per request and the gap to it is Interdict's own work
    (authentication, the database, serialisation, middleware).
    """
    from fastapi import FastAPI

    app = FastAPI()

    @app.get(BASELINE_PATH)
    def items() -> list[dict[str, object]]:
        return BASELINE_ITEMS

    return app


def interdict_app(data_dir: Path) -> FastAPI:
    """The real application over the embedded SQLite database in ``data_dir``."""
    from interdict.api.app import create_app
    from interdict.config import get_settings

    # database_url=None overrides any INTERDICT_DATABASE_URL in the environment: this
    # benchmark measures the embedded default, never a server someone has configured.
    settings = get_settings(data_dir=data_dir, mode="development", database_url=None)
    return create_app(settings, start_workers=False)


def _exit_with_parent(parent_pid: int) -> None:
    """End this process when the harness is gone, even if it was killed without cleanup."""
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m benchmarks._serve")
    parser.add_argument("--port", type=int, required=True)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--data-dir", type=Path, help="Serve Interdict over this data dir.")
    group.add_argument("--baseline", action="store_true", help="Serve the bare FastAPI app.")
    parser.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)
    if args.parent_pid is not None:
        _exit_with_parent(args.parent_pid)
    if os.environ.get("INTERDICT_BENCH_HISTORY_BY_SQL"):
        # The targeting benchmark's baseline: history read by SQL aggregates per request.
        from benchmarks.targeting_baseline import install

        install()
    app = baseline_app() if args.baseline else interdict_app(args.data_dir)
    uvicorn.run(app, host=HOST, port=args.port, log_level="warning", proxy_headers=False)


# --- harness side ---------------------------------------------------------------------------

def free_port() -> int:
    """A port free on 127.0.0.1 right now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _log_tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"server exited {proc.returncode} before answering:\n"
                              f"{_log_tail(log)}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise ServerError(f"server did not answer {url} within {timeout:.0f} s:\n{_log_tail(log)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down cleanly), then SIGKILL if it has not gone in 10 s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def served(*, log: Path, data_dir: Path | None = None, ready_path: str = "/healthz",
           timeout: float = 60.0, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run Interdict over ``data_dir`` (or the baseline when None); yield its base URL.

    The process is stopped on the way out whatever happened inside, including
    KeyboardInterrupt; its output goes to ``log`` so a failure to start can be shown.
    """
    port = free_port()
    cmd = [sys.executable, "-m", "benchmarks._serve", "--port", str(port),
           "--parent-pid", str(os.getpid())]
    cmd += ["--data-dir", str(data_dir)] if data_dir is not None else ["--baseline"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL,
                                env={**os.environ, **(env or {})})
    try:
        base = f"http://{HOST}:{port}"
        _wait_ready(proc, base + ready_path, log, timeout)
        yield base
    finally:
        _stop(proc)


if __name__ == "__main__":
    main()
