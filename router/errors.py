"""Every exception lanerouter defines, and the one mapping of its own errors to OpenAI-style
error JSON.

What a client gets:
RouterError                 status  type                   code
├── BadRequest              400     invalid_request_error  (given)
│   ├── UnknownLane         400     invalid_request_error  unknown_lane
│   └── ContextTooLong      400     invalid_request_error  context_length_exceeded
│       └── PromptRefused   (an engine refused it, and counted the prompt)
├── PayloadTooLarge         413     invalid_request_error  payload_too_large
├── UnsupportedEncoding     415     invalid_request_error  unsupported_media_type
├── Unauthorized            401     invalid_request_error  invalid_api_key
├── Forbidden               403     invalid_request_error  lane_not_allowed
├── ClientGone              499     (nobody reads it)      client_disconnected
├── Rejected                429     rate_limit_error       (given)
│   ├── QueueFull           429     rate_limit_error       queue_full
│   ├── QueueTimeout        429     rate_limit_error       queue_timeout
│   └── KeyBusy             429     rate_limit_error       key_concurrency
├── ShuttingDown            503     server_error           shutting_down
├── EngineAnswer            the engine's own status and body, passed through unchanged
├── LaneUnavailable         503     upstream_error         lane_unavailable
└── UpstreamError           502     upstream_error         (given)
    ├── LaneUnreachable     502     upstream_error         lane_unreachable
    └── UpstreamTimeout     504     upstream_error         upstream_timeout
(admission.Rejected: 429 rate_limit_error queue_full | queue_timeout)

Inside lanerouter, never seen by a client as such:
ConfigError                 a configuration problem, worded for the person who wrote the file
WireError                   the engine transport (router.engine.upstream maps these to the above)
├── ConnectFailed
├── TimedOut
└── Broken                  closed, or malformed HTTP, before the answer was complete
    └── Unanswered          closed before a single byte of the answer
Refused                     stops a client request's parser at a door limit (router.http.door)
Trailing                    stops the engine answer's parser at bytes past the answer's end
IllegalTransition           a state machine asked for a move its table forbids (a bug)
LaneFailed                  a lane did not answer: its Failure(cause, error) for the dispatcher
└── Retryable               ... and trying the same lane again may help
DropConnection              (demo engines) drop the client's socket mid-answer
SharedLost                  Redis went away while a request waited in its queue (it then
                            waits in its own process: router.dispatch.shared)
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from router.decide.refusal import PromptCount


class RouterError(Exception):
    status = 500
    type = "server_error"
    code = "internal_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = message  # the cause alone, where the message wraps it in context
        if code is not None:
            self.code = code
        # Filled in once a lane is chosen, so even errors say where the request went.
        self.headers: Mapping[str, str] = {}


class BadRequest(RouterError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class UnknownLane(BadRequest):
    code = "unknown_lane"


class ContextTooLong(BadRequest):
    code = "context_length_exceeded"


class PayloadTooLarge(RouterError):
    status = 413
    type = "invalid_request_error"
    code = "payload_too_large"


class UnsupportedEncoding(RouterError):
    status = 415
    type = "invalid_request_error"
    code = "unsupported_media_type"


class Unauthorized(RouterError):
    status = 401
    type = "invalid_request_error"
    code = "invalid_api_key"


class Forbidden(RouterError):
    status = 403
    type = "invalid_request_error"
    code = "lane_not_allowed"


class ClientGone(RouterError):
    status = 499
    code = "client_disconnected"


class LaneUnavailable(RouterError):
    status = 503
    type = "upstream_error"
    code = "lane_unavailable"


class EngineAnswer(RouterError):
    """An engine's error answer, kept whole so the client gets it exactly as sent."""

    def __init__(self, status: int, body: bytes, content_type: str | None) -> None:
        super().__init__(f"the engine answered {status}")
        self.status, self.body = status, body
        self.content_type = content_type or "application/json"


class PromptRefused(ContextTooLong):
    """An engine refused the request for its size and said how many tokens the prompt has."""

    def __init__(self, count: PromptCount, answer: EngineAnswer) -> None:
        counted = f"{'at least ' if count.at_least else ''}{count.tokens}"
        super().__init__(f"the engine counted {counted} prompt tokens; its context is {count.ctx}")
        self.count, self.answer = count, answer


class UpstreamError(RouterError):
    status = 502
    type = "upstream_error"
    code = "upstream_error"


class LaneUnreachable(UpstreamError):
    code = "lane_unreachable"


class UpstreamTimeout(UpstreamError):
    status = 504
    code = "upstream_timeout"


@contextmanager
def body_errors() -> Iterator[None]:
    """Around reading or re-writing a parsed body: what valid-looking JSON can still hold that
    cannot be worked with becomes a 400, not a traceback. Nesting deeper than Python recurses,
    and strings with a lone UTF-16 surrogate ("\\ud800"), which is not text in UTF-8."""
    try:
        yield
    except RecursionError:
        raise BadRequest("request body is nested too deeply", code="invalid_json") from None
    except UnicodeEncodeError:
        message = "request body holds a lone UTF-16 surrogate (\\ud800-\\udfff): not text"
        raise BadRequest(message, code="invalid_json") from None


def error_body(message: str, type_: str, code: str | int | None) -> dict[str, object]:
    # "type": "error" at the top makes the same body valid for Anthropic-style clients too.
    return {"type": "error", "error": {"message": message, "type": type_, "code": code}}


def error_json(exc: RouterError) -> bytes:
    body = error_body(exc.message, exc.type, exc.code)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def sse_error_event(exc: RouterError) -> bytes:
    """The last event of a stream that failed after it started: one well-formed SSE frame."""
    return b"data: " + error_json(exc) + b"\n\n"


class Rejected(RouterError):
    status = 429
    type = "rate_limit_error"


class QueueFull(Rejected):
    code = "queue_full"


class QueueTimeout(Rejected):
    code = "queue_timeout"


class KeyBusy(Rejected):
    code = "key_concurrency"


class ShuttingDown(RouterError):
    status = 503
    type = "server_error"
    code = "shutting_down"


class ConfigError(Exception):
    """A configuration problem, worded for the person who wrote the file."""


class WireError(Exception):
    """Base of what the engine transport raises; `upstream.upstream_errors` maps them."""


class ConnectFailed(WireError):
    pass


class TimedOut(WireError):
    pass


class Broken(WireError):
    """The connection closed or spoke malformed HTTP before the answer was complete."""


class Unanswered(Broken):
    """Closed before a single byte of the answer arrived."""


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a lane did not answer: `cause` is the metric label, `error` what the client gets."""

    cause: str
    error: RouterError


class LaneFailed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.cause)
        self.failure = failure


class Retryable(LaneFailed):
    """A lane failure that another try on the same lane may mend."""


class Refused(Exception):
    """Raised from the request parser's callbacks at a limit of the door."""


class Trailing(Exception):
    """Raised from the parser's callbacks at a second response on one engine connection."""


class IllegalTransition(Exception):
    """A move that a state machine's table of allowed transitions does not hold."""


class DropConnection(Exception):
    """Raised inside a demo engine after the response started: the server drops the socket."""


class SharedLost(Exception):
    """Redis went away while a request waited in its queue: it waits in-process instead."""
