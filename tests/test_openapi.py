"""lanerouter against the OpenAPI description it publishes (schemathesis): generated requests,
valid and not, to every endpoint it lists, over a real socket to fake engines. Every answer's
status, content type, headers and JSON must be ones the document allows; no answer is a failure
of lanerouter's own (5xx is allowed only when an engine said it); no traceback is logged.

Not checked: that schema-invalid bodies are refused and valid ones accepted. Parameter checks
are the engine's (lanerouter reads only what it routes by and relays the engine's verdict), so
the generic rejection checks would test the fake engines, not lanerouter.
"""

from __future__ import annotations

import json
import logging
import os
from importlib.metadata import version as package_version
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from router.app import PROXIED_ENDPOINTS
from router.configfile import load_settings
from router.openapi import openapi_document

NOT_OURS = [
    checks.not_a_server_error,  # replaced by the check below: an engine's 5xx is relayed
    openapi_checks.negative_data_rejection,
    openapi_checks.positive_data_acceptance,
]


# Built as the app builds it, for the lanes of the default config (which the router fixture
# runs); the first test holds the served document to this one. (schemathesis's loading from a
# fixture does not run under pytest 9.)
DOCUMENT = openapi_document(list(load_settings(None).lanes), package_version("lanerouter"), None)
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_served_description_is_the_one_tested(router_url: str) -> None:
    served = httpx.get(router_url + "/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(DOCUMENT))
    assert set(served.json()["paths"]) >= set(PROXIED_ENDPOINTS)


def no_failure_of_its_own(ctx: Any, response: Any, case: Any) -> None:
    """A 5xx must be an engine's, relayed (with its error JSON), never lanerouter's own."""
    if response.status_code < 500:
        return
    error = response.json().get("error", {})
    assert error.get("code") not in ("internal_error", None), response.text


# The same examples on every run (derandomized); SCHEMATHESIS_EXAMPLES=500 to explore further.
@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("SCHEMATHESIS_EXAMPLES", "25")),
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.usefixtures("fast_engines")
def test_every_answer_matches_the_published_description(
    router_url: str, case: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        case.call_and_validate(
            base_url=router_url, excluded_checks=NOT_OURS, additional_checks=[no_failure_of_its_own]
        )
    assert "Traceback" not in caplog.text


def test_with_keys_the_description_asks_for_one_except_where_none_is_needed() -> None:
    document = openapi_document(["chat"], "1", frozenset({"/healthz", "/readyz"}))
    assert {"bearer", "x-api-key"} == set(document["components"]["securitySchemes"])
    assert document["security"] and "security" not in document["paths"]["/metrics"]["get"]
    assert document["paths"]["/healthz"]["get"]["security"] == []
    assert "components" not in openapi_document(["chat"], "1", None)
