"""The OpenAPI description lanerouter publishes at GET /openapi.json: the proxied endpoints, as
far as lanerouter itself reads and answers them, and the info endpoints.

Request schemas hold what lanerouter reads to route (model, messages, stream, ...) and leave
every other field open: parameter checks are the engine's, and its answer is relayed as it is.
The lanes and model ids come from the running config, so the document says what this server
accepts, and schemathesis tests the server against it (tests/test_openapi.py).
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

ERROR: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "type": {"type": "string"},
        "error": {
            "type": "object",
            "required": ["message"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": ["string", "null"]},
                "code": {"type": ["string", "integer", "null"]},
            },
        },
    },
}
PART: Schema = {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}}
CONTENT: Schema = {"anyOf": [{"type": "string"}, {"type": "array", "items": PART}]}


def obj(required: list[str], **properties: Schema) -> Schema:
    return {"type": "object", "required": required, "properties": properties}


def messages(roles: list[str]) -> Schema:
    role = {"type": "string", "enum": roles}
    return {"type": "array", "minItems": 1, "items": obj(["role"], role=role, content=CONTENT)}


COMMON: dict[str, Schema] = {
    "model": {"type": "string", "description": "a lane name, or any model id (routed by intent)"},
    "stream": {"type": "boolean"},
    "max_tokens": {"type": "integer", "minimum": 1},
}
CHAT_ROLES = ["system", "developer", "user", "assistant", "tool"]
# Endpoint -> (summary, request schema, the field every whole answer has).
ENDPOINTS: dict[str, tuple[str, Schema, str]] = {
    "/v1/chat/completions": (
        "OpenAI chat completion",
        obj(["messages"], **COMMON, messages=messages(CHAT_ROLES), tools={"type": "array"}),
        "choices",
    ),
    "/v1/completions": (
        "OpenAI text completion",
        obj(["prompt"], **COMMON, prompt=CONTENT),
        "choices",
    ),
    "/v1/responses": (
        "OpenAI Responses API",
        obj(["input"], **COMMON, input=CONTENT, instructions={"type": "string"}),
        "output",
    ),
    "/v1/messages": (
        "Anthropic Messages API",
        obj(
            ["messages", "max_tokens"],
            **COMMON,
            messages=messages(["user", "assistant"]),
            system=CONTENT,
        ),
        "content",
    ),
    "/v1/messages/count_tokens": (
        "Anthropic token count",
        obj(["messages"], model=COMMON["model"], messages=messages(["user", "assistant"])),
        "input_tokens",
    ),
    "/v1/embeddings": (
        "OpenAI embeddings",
        obj(["input"], model=COMMON["model"], input=CONTENT),
        "data",
    ),
}
STRING: Schema = {"schema": {"type": "string"}}
# One server-sent event of a stream (the schema applies to each event, not the whole body).
EVENT = obj(["data"], data={"type": "string"}, event={"type": "string"})
ROUTED_HEADERS = {  # on every answer a lane gave
    "x-lane": {"required": True, **STRING, "description": "the lane that answered"},
    "x-route-reason": {"required": True, **STRING, "description": "why that lane"},
    "x-request-id": {"required": True, **STRING},
}


def json_content(schema: Schema) -> Schema:
    return {"application/json": {"schema": schema}}


def errors(*statuses: str) -> dict[str, Schema]:
    """OpenAI-style error JSON: lanerouter's own, or an engine's relayed as it was."""
    return {s: {"description": "error", "content": json_content(ERROR)} for s in statuses}


def proxied_operation(summary: str, request: Schema, answer_field: str, lanes: list[str]) -> Schema:
    ok = {
        "description": "the engine's answer, relayed (an SSE stream when stream is true)",
        "headers": ROUTED_HEADERS,
        "content": json_content(obj([answer_field])) | {"text/event-stream": {"schema": EVENT}},
    }
    lane = {"type": "string", "enum": lanes}
    return {
        "post": {
            "summary": summary,
            "parameters": [
                {
                    "name": "x-lane",
                    "in": "header",
                    "schema": lane,
                    "description": "force a lane (as a lane-named model does)",
                },
                {"name": "x-request-id", "in": "header", "schema": {"type": "string"}},
            ],
            "requestBody": {"required": True, "content": json_content(request)},
            "responses": {"200": ok} | errors("4XX", "5XX"),
        }
    }


def info_paths() -> dict[str, Schema]:
    model = obj(["id", "object"], id={"type": "string"}, object={"const": "model"})
    models = obj(
        ["object", "data"], object={"const": "list"}, data={"type": "array", "items": model}
    )
    ready = obj(
        ["status", "lanes"], status={"enum": ["ready", "unavailable"]}, lanes={"type": "object"}
    )
    model_id = {"name": "model_id", "in": "path", "required": True, "schema": {"type": "string"}}

    def get(summary: str, answers: dict[str, Schema], **extra: Any) -> Schema:
        return {"get": {"summary": summary, "responses": answers, **extra}}

    def ok(schema: Schema) -> dict[str, Schema]:
        return {"200": {"description": "ok", "content": json_content(schema)}}

    metrics = {"200": {"description": "Prometheus text format", "content": {"text/plain": STRING}}}
    return {
        "/v1/models": get("the models clients may name", ok(models)),
        "/v1/models/{model_id}": get("one model", ok(model) | errors("404"), parameters=[model_id]),
        "/healthz": get("the process is up", ok(obj(["status"], status={"const": "ok"}))),
        "/readyz": get(
            "some lane can answer",
            ok(ready) | {"503": {"description": "no lane can", "content": json_content(ready)}},
        ),
        "/metrics": get("Prometheus metrics", metrics | errors("401")),
    }


# With [auth] keys either header carries one (OpenAI clients send the first, Anthropic's the other).
KEY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer"},
    "x-api-key": {"type": "apiKey", "in": "header", "name": "x-api-key"},
}


def openapi_document(lanes: list[str], version: str, open_paths: frozenset[str] | None) -> Schema:
    """The whole description for a server whose lanes are `lanes`; `open_paths` are those
    answered without a key when keys are asked for (None: no keys). Paths are also served
    without their /v1 (for base URLs that lack it); only the /v1 form is listed."""
    proxied = {path: proxied_operation(*spec, lanes) for path, spec in ENDPOINTS.items()}
    paths = proxied | info_paths()
    document: Schema = {
        "openapi": "3.1.0",
        "info": {"title": "lanerouter", "version": version},
        "paths": paths,
    }
    if open_paths is not None:
        document["components"] = {"securitySchemes": KEY_SCHEMES}
        document["security"] = [{name: []} for name in KEY_SCHEMES]
        for path in open_paths & paths.keys():
            paths[path]["get"]["security"] = []
    return document
