"""Pure ASGI middleware: request body limit and Prometheus metrics.

Pure ASGI rather than Starlette's BaseHTTPMiddleware keeps per-request overhead low, which the
API throughput target depends on.
"""

from __future__ import annotations

import json
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from interdict.errors import BadRequest, FieldError, InterdictError, PayloadTooLarge


def _json_error(exc: InterdictError) -> tuple[int, bytes]:
    return exc.status, json.dumps({"error": exc.as_dict()}).encode()


def _too_large(limit: int) -> tuple[int, bytes]:
    detail = f"request body exceeds {limit} bytes"
    return _json_error(PayloadTooLarge(detail, errors=[FieldError("body", detail)]))


class BodyLimit:
    """Refuse bodies larger than ``max_bytes`` with 413, whether declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        limit = self.max_bytes
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                await self._reply(send, *_json_error(BadRequest(
                    "Content-Length is not a number",
                    errors=[FieldError("Content-Length", "not a number")])))
                return
            if too_big:
                await self._reply(send, *_too_large(limit))
                return
        else:
            # No declared length (chunked upload): read up to the limit before the app runs,
            # so an oversized body is refused with 413 instead of failing mid-parse.
            messages: list[Message] = []
            received = 0
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":
                    break
                received += len(message.get("body", b""))
                if received > limit:
                    await self._reply(send, *_too_large(limit))
                    return
                if not message.get("more_body", False):
                    break

            async def replay() -> Message:
                if messages:
                    return messages.pop(0)
                return await receive()

            await self.app(scope, replay, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    async def _reply(send: Send, status: int, body: bytes) -> None:
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class Metrics:
    """Count requests and time them per route template (not per raw path: bounded labels)."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter("interdict_http_requests", "HTTP requests",
                                ["method", "route", "status"], registry=registry)
        self.latency = Histogram("interdict_http_request_duration_seconds",
                                 "HTTP request latency", ["method", "route"], registry=registry,
                                 buckets=(.002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 10))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route: Any = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.requests.labels(method, name, str(status[0])).inc()
            self.latency.labels(method, name).observe(time.perf_counter() - start)
