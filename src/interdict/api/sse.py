"""Server-Sent Events read from a table: the one loop every live stream uses.

A stream polls its table (the source of truth) for rows after the last id sent, so that rows
written by other processes (CLI imports, other workers) are pushed too, and ``Last-Event-ID``
resumes after a reconnect. Callers say how to fetch rows after an id and how to find the
newest id; this module does the waiting, the framing and the keep-alives.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from fastapi import Request
from starlette.concurrency import run_in_threadpool

#: Seconds of silence after which a comment line keeps proxies from closing the stream.
KEEP_ALIVE_SECONDS = 15.0


def poll_events(request: Request, *, after: int | None, event: str,
                fetch: Callable[[int], list[tuple[int, str]]],
                newest: Callable[[], int]) -> AsyncIterator[str]:
    """Events named ``event`` for the rows ``fetch(after_id)`` returns as (id, data text).

    Without ``after`` the stream starts at ``newest()``: only rows written from now on.
    """
    poll = request.app.state.settings.sse_poll_seconds

    async def stream() -> AsyncIterator[str]:
        last = after if after is not None else await run_in_threadpool(newest)
        yield f"retry: 3000\nevent: ready\ndata: {last}\n\n"
        idle = 0.0
        while not await request.is_disconnected():
            rows = await run_in_threadpool(fetch, last)
            for row_id, text in rows:
                data = "\n".join(f"data: {line}" for line in text.splitlines())
                yield f"id: {row_id}\nevent: {event}\n{data}\n\n"
                last = row_id
            if not rows:
                idle += poll
                if idle >= KEEP_ALIVE_SECONDS:
                    idle = 0.0
                    yield ": keep-alive\n\n"
            await asyncio.sleep(poll)

    return stream()
