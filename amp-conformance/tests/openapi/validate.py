"""Validates the exported OpenAPI document with real tools (run by tests/openapi.rs).

Usage: python validate.py DOCUMENT.json EXCHANGES.json

1. openapi-spec-validator: the document is a valid OpenAPI 3.1 document.
2. openapi-core: loads it, and checks recorded exchanges with the reference server against it:
   each request must be valid or invalid as the exchange says, and each response must match
   the document's answer for its status.
Prints one line per exchange and a closing "N passed, N failed" line; exits 1 on any failure.
"""

import json
import sys

from openapi_spec_validator import validate
from openapi_spec_validator.versions import consts as versions
from openapi_spec_validator.versions.shortcuts import get_spec_version
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        exchanges = json.load(f)

    version = get_spec_version(spec)
    if version != versions.OPENAPIV31:
        print(f"FAIL: detected {version}, expected OpenAPI 3.1")
        return 1
    validate(spec)  # raises on any error
    print("openapi-spec-validator: valid OpenAPI 3.1 document")

    # Replay against the reference server the test started: its address replaces the
    # document's placeholder server (the only change made to the document).
    if exchanges:
        spec["servers"] = [{"url": exchanges[0]["host"]}]
    api = OpenAPI.from_dict(spec)
    passed = failed = 0
    for ex in exchanges:
        request = MockRequest(
            ex["host"],
            "post",
            ex["path"],
            headers=ex["headers"],
            content_type=ex["content_type"],
            data=ex["body"].encode("utf-8"),
        )
        problems = []
        try:
            api.validate_request(request)
            request_ok = True
        except Exception as err:  # noqa: BLE001 - any validation error counts
            request_ok = False
            request_error = f"{type(err).__name__}: {err}; {getattr(err, '__cause__', '')}"
        if ex["request_valid"] is None:
            # openapi-core keeps multipart parts as text (no integer coercion), so only the
            # answer is checked for this exchange.
            pass
        elif request_ok != ex["request_valid"]:
            problems.append(
                f"request {'accepted' if request_ok else 'rejected'} by the document, "
                f"expected {'valid' if ex['request_valid'] else 'invalid'}"
                + ("" if request_ok else f" ({request_error})")
            )
        response = MockResponse(
            ex["response"].encode("utf-8"),
            status_code=ex["status"],
            content_type=ex["response_content_type"],
        )
        try:
            api.validate_response(request, response)
        except Exception as err:  # noqa: BLE001
            problems.append(f"response does not match the document: {type(err).__name__}: {err}; {getattr(err, '__cause__', '')}")
        if problems:
            failed += 1
            print(f"FAIL {ex['name']}: " + " | ".join(problems))
        else:
            passed += 1
            why = "" if request_ok else f" (request rejected: {request_error[-200:]})"
            print(f"ok   {ex['name']}: HTTP {ex['status']} {ex['response'][:80]}{why}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
