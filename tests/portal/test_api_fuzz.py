"""Schemathesis fuzzes /api/v1/ from its own OpenAPI, against the live loopback server, with an
admin's token: valid and invalid parameters alike, no answer may be a 5xx, and every answer
must be one the OpenAPI documents, in the shape it documents."""

from __future__ import annotations

import collections

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.portal.api_world import account, bearer, fill, token_of

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 60  # over the five routes, valid and invalid: well under a minute


def test_fuzzing_the_openapi_finds_no_server_error_and_no_undocumented_answer(portal):
    fill(portal.db)
    headers = bearer(token_of(portal.db, account(portal.db, "admin")))
    schema = schemathesis.openapi.from_url(portal.base + "/api/openapi.json").include(path_regex="^/api/v1/")
    cases = st.one_of(
        schema.as_strategy(schemathesis.GenerationMode.POSITIVE),
        schema.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )
    seen: collections.Counter[tuple[str, int]] = collections.Counter()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def answer_is_documented(case):
        response = case.call_and_validate(base_url=portal.base, headers=headers, checks=CHECKS)
        seen[case.operation.path, response.status_code // 100] += 1

    answer_is_documented()
    # The fuzzing reached every route, and was both answered and refused.
    assert {path for path, _ in seen} == {
        f"/api/v1/{p}" for p in ("daily", "kpis", "events", "reports", "deliveries")
    }
    assert {kind for _, kind in seen} >= {2, 4}, seen
