"""Schemathesis against the live server's own OpenAPI document: every operation, valid and
invalid inputs, with the shop's key and without; 0 server errors and 0 answers outside the
document (status, content type, body schema) are the bar.

`fuzz` is shared with `benchmarks/reliability.py`, which runs the long profile. It drives
schemathesis' Hypothesis strategies itself (instead of `schema.parametrize()`) so one call can
count cases and keep every failing request with its response for the report.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.service.conftest import API_KEY, LiveServer

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
#: Retraining takes seconds per call and rewrites the bundle: fuzzed only without the key (401 and
#: 429 answers), never past the guard; tests/service/test_retrain.py covers what it does.
SLOW_OPERATIONS = ("POST /admin/retrain",)
SHORT_PROFILE = 15  # examples per operation, mode (valid, invalid) and key setting: `make test`


@dataclass
class FuzzReport:
    """What one fuzzing run sent and what broke; `failures` hold the exact request (curl) and
    the response, enough to reproduce each one."""

    cases: int = 0
    unsendable: int = 0  # generated requests the HTTP client itself refused (e.g. NUL in a header)
    seconds: float = 0.0
    statuses: dict[str, Counter[str]] = field(default_factory=dict)  # operation -> status -> n
    failures: list[dict[str, Any]] = field(default_factory=list)
    excluded: tuple[str, ...] = SLOW_OPERATIONS  # not fuzzed with the key
    no_negative: list[str] = field(default_factory=list)  # operations without invalid inputs

    def as_json(self) -> dict[str, Any]:
        return {"cases": self.cases, "failures": len(self.failures),
                "unsendable": self.unsendable, "seconds": round(self.seconds, 1),
                "statuses": dict(sorted(sum(self.statuses.values(), Counter()).items())),
                "per_operation": {op: dict(sorted(c.items()))
                                  for op, c in sorted(self.statuses.items())},
                "not_fuzzed_with_the_key": list(self.excluded),
                "without_negative_inputs": self.no_negative, "failure_details": self.failures}


def fuzz(base_url: str, api_key: str, max_examples: int,
         exclude: tuple[str, ...] = SLOW_OPERATIONS) -> FuzzReport:
    """Every operation of `base_url`'s /openapi.json, positive and negative inputs, first with
    the key fixed in the header (so key-guarded operations run past the guard), then with
    whatever headers schemathesis makes up (missing or wrong keys: 401, later 429). Operations
    in `exclude` run only in the second pass.

    The keyed pass goes first: wrong keys from the second pass trip the service's brake, which
    then answers 429 to this client's wrong keys for a minute (the right key still passes)."""
    report = FuzzReport(excluded=exclude)
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()]
    session = requests.Session()
    start = time.perf_counter()
    for keyed in (True, False):
        for op in operations:
            label = op.label
            guarded = any(p.name.lower() == "x-api-key" for p in op.headers)
            headers = {"X-API-Key": api_key} if keyed and guarded else None
            if (keyed and label in exclude) or (not keyed and not guarded):
                continue  # slow past the guard; or no key involved: fuzzed in the first pass
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz_operation(op, label, mode, headers, base_url, session, max_examples, report)
    report.seconds = time.perf_counter() - start
    return report


def _fuzz_operation(op: Any, label: str, mode: GenerationMode, headers: dict[str, str] | None,
                    base_url: str, session: requests.Session, max_examples: int,
                    report: FuzzReport) -> None:
    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy(generation_mode=mode, headers=headers))
    def run(case: Any) -> None:
        try:
            response = case.call(base_url=base_url, session=session, timeout=60)
        except (requests.exceptions.InvalidHeader, requests.exceptions.InvalidURL,
                UnicodeError, ValueError):
            report.unsendable += 1
            return
        except requests.RequestException as exc:  # the server hung up or hung: a real failure
            report.failures.append({"operation": label, "mode": mode.value, "check": "transport",
                                    "message": f"{type(exc).__name__}: {exc}",
                                    "request": case.as_curl_command(headers=headers,
                                                                    base_url=base_url)})
            return
        report.cases += 1
        report.statuses.setdefault(label, Counter())[str(response.status_code)] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers,
                                   transport_kwargs={"base_url": base_url})
        except FailureGroup as group:
            report.failures.append({
                "operation": label, "mode": mode.value,
                "check": sorted({type(f).__name__ for f in group.exceptions}),
                "message": "; ".join(f.title for f in group.exceptions),
                "request": case.as_curl_command(headers=headers, base_url=base_url),
                "status": response.status_code, "response": response.text[:500]})

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (no parameters, no body): nothing to send
        report.no_negative.append(label)


def describe(report: FuzzReport) -> str:
    lines = [f"{len(report.failures)} failures in {report.cases} cases:"]
    for f in report.failures[:10]:
        lines.append(f"- {f['operation']} ({f['mode']}): {f['check']} {f.get('status', '')}\n"
                     f"  {f['request']}\n  -> {f.get('response', f['message'])}")
    return "\n".join(lines)


@pytest.mark.slow
def test_fuzzing_finds_no_server_error_and_no_answer_outside_the_document(
        live: LiveServer) -> None:
    report = fuzz(live.url, API_KEY, SHORT_PROFILE)
    assert report.cases > 200, report.as_json()
    assert not report.failures, describe(report)
    seen = report.as_json()["per_operation"]
    assert "200" in seen["POST /items"] and "200" in seen["POST /users/{user_id}/token"], seen
    assert {"401", "429"} & set(seen["POST /items"]), seen  # the pass without the key
