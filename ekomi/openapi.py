"""Document the error answers every API operation can give, so clients (and IN-1's generated
tests) see them in ``/api/schema/``: 400 for invalid input, 401 without a valid key, 404 for an
unknown id, 405 for an unsupported method, 413 for a body over the limit, 429 when the key's
rate limit is reached (with Retry-After) and 503 while the database is unavailable."""

from __future__ import annotations

ERROR = {
    "type": "object",
    "description": "`detail` says what went wrong; validation errors name each field instead.",
    "additionalProperties": True,
}
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "description": "Seconds to wait before retrying.",
    }
}
ANSWERS = {
    "400": "The request is invalid; the body names each problem.",
    "401": "No API key, or an unknown or revoked key.",
    "404": "No such object for this key, or no such path.",
    "405": "The method is not supported on this path.",
    "413": "The request body is too large.",
    "415": "The content type is not supported.",
    "429": "The key's rate limit is reached; retry after Retry-After seconds.",
    "503": "The service is briefly unavailable; retry after Retry-After seconds.",
}
VERBS = ("get", "post", "put", "patch", "delete")


def _response(description: str, status: str, media_types: list[str]) -> dict:
    response = {"description": description, "content": {m: {"schema": ERROR} for m in media_types}}
    if status in ("429", "503"):
        response["headers"] = RETRY_AFTER
    return response


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: add the shared error answers to every operation."""
    for operations in result.get("paths", {}).values():
        for verb, operation in operations.items():
            if verb not in VERBS:
                continue
            responses = operation.setdefault("responses", {})
            # An error is rendered like the answer the client asked for (JSON, or e.g. CSV).
            media_types = sorted(
                {"application/json"}.union(
                    *(r.get("content", {}) for code, r in responses.items() if code[0] == "2")
                )
            )
            for status, description in ANSWERS.items():
                responses.setdefault(status, _response(description, status, media_types))
            for response in responses.values():
                response.setdefault("content", {m: {"schema": ERROR} for m in media_types})
    return result
