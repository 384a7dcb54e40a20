"""Relaying an engine's answer to the client: bytes unchanged, each event as soon as it is whole,
metered on the way."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass

from starlette.responses import Response

from router.engine.answer import Answer
from router.engine.upstream import HOP_BY_HOP, connection_tokens, upstream_errors
from router.errors import RouterError, UpstreamError, sse_error_event
from router.observe.exchange import Exchange, Outcome, outcome_for_status
from router.observe.texts import body_text, stream_text
from router.stream.assemble import assemble
from router.stream.committed import Ending
from router.stream.drain import Drain
from router.stream.meter import StreamMeter, measure_body

# An engine's cookies are not the client's business (nor lanerouter's to hand on).
NOT_RELAYED = HOP_BY_HOP | {"content-length", "server", "date", "set-cookie"}
STREAM_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def exchange_headers(exchange: Exchange) -> dict[str, str]:
    headers = {
        "x-lane": exchange.lane,
        "x-route-reason": exchange.reason,
        "x-request-id": exchange.request_id,
    }
    note = exchange.cap.note if exchange.cap else None
    if note:
        headers["x-max-tokens-capped"] = note
    return headers


def relayed_headers(upstream: Answer, exchange: Exchange) -> dict[str, str]:
    pairs = upstream.headers.items()
    dropped = NOT_RELAYED | connection_tokens(pairs)
    headers = {k: v for k, v in pairs if k not in dropped}
    return headers | exchange_headers(exchange)


def is_event_stream(upstream: Answer) -> bool:
    return upstream.headers.get("content-type").startswith("text/event-stream")


@dataclass(frozen=True, slots=True)
class Relaying:
    """How one answer is relayed."""

    clock: Callable[[], float]
    drain: Drain
    base_url: str
    strip_usage: bool = False  # remove the usage event lanerouter asked for itself
    keep_text: bool = False  # keep the completion's text for the request log
    assembled: bool = False  # a stream the client did not ask for: answer with one body
    length_at: int | None = None  # the output limit an always-"stop" engine was sent
    broke: Callable[[str], object] = lambda detail: None  # the engine failed mid-answer


async def relay_body(
    upstream: Answer, exchange: Exchange, how: Relaying
) -> tuple[Response, str | None]:
    """A whole answer for a client that asked for one (metered), and its text if kept."""
    status, headers = upstream.status, relayed_headers(upstream, exchange)
    if how.assembled and is_event_stream(upstream):
        stream = await collect_stream(upstream, exchange, how)
        headers["content-type"] = "application/json; charset=utf-8"
        body = assemble(exchange.endpoint, stream, how.length_at)
    else:
        how.drain.add(upstream)
        try:
            with upstream_errors(exchange.lane, how.base_url):
                body = await upstream.read_all()
        except RouterError as exc:
            raise how.drain.error_for(exc) from exc
        finally:
            how.drain.discard(upstream)
        measure_body(exchange.measurement, body, how.clock())
    return Response(body, status, headers), body_text(body) if how.keep_text else None


async def collect_stream(upstream: Answer, exchange: Exchange, how: Relaying) -> bytes:
    """Read a whole stream (metered: its TTFT is real) for a client that did not ask for one."""
    meter, parts, now = StreamMeter(exchange.measurement, length_at=how.length_at), [], how.clock
    how.drain.add(upstream)
    try:
        with upstream_errors(exchange.lane, how.base_url):
            while chunk := await upstream.read():
                parts.append(meter.feed(chunk, now()))
        parts += (meter.release(), meter.finish(now()))
    except RouterError as exc:
        if not how.drain.closing:
            how.broke(exc.detail)
        raise how.drain.error_for(exc) from exc
    finally:
        how.drain.discard(upstream)
        upstream.close()
    return b"".join(parts)


async def relay_events(
    upstream: Answer, exchange: Exchange, how: Relaying, ending: Ending
) -> AsyncGenerator[bytes, None]:
    """Yield the engine's events as they come; a failure after the start ends in an SSE error.
    How it ended goes into `ending`, which the stream's owner reads (router.stream.committed)."""
    meter = StreamMeter(exchange.measurement, strip_usage=how.strip_usage,
                        keep_text=how.keep_text, length_at=how.length_at)  # fmt: skip
    now, ending.status = how.clock, upstream.status
    how.drain.add(upstream)
    try:
        with upstream_errors(exchange.lane, how.base_url):
            while chunk := await upstream.read():
                out = meter.feed(chunk, now())
                if out:
                    yield out
        if held := meter.release():
            yield held
        if meter.finish(now()).strip():
            # A malformed end: half an event would corrupt the client's last frame.
            raise UpstreamError(f"lane {exchange.lane!r} ended its stream inside an event")
        ending.outcome = outcome_for_status(upstream.status)
    except RouterError as exc:
        ending.outcome = Outcome.UPSTREAM_ABORTED
        if not how.drain.closing:
            how.broke(exc.detail)
        # The 200 and part of the stream are gone already: end with a well-formed event.
        yield sse_error_event(how.drain.error_for(exc))
    finally:
        how.drain.discard(upstream)
        # Also runs when the client disconnects: closing drops the engine connection at once,
        # which is what makes llama.cpp stop generating and free its slot.
        upstream.close()
        if exchange.measurement.ended is None:
            exchange.measurement.ended = now()
        if meter.content is not None:
            ending.completion_text = stream_text(meter.content)
