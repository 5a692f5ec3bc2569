"""OpenAPI description of pmhub's token authentication."""
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "pmhub.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token from your profile page: `Authorization: Bearer pmh_…`.",
        }


ERROR_SCHEMA = {
    "type": "object",
    "description": "Every API error: a message, and for invalid input the messages per field.",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, in a sentence."},
        "errors": {
            "type": "object",
            "description": "Invalid input only: `{field: [messages]}` (nested for lists and objects).",
            "additionalProperties": {},
        },
    },
    "required": ["detail"],
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}}
ERROR_RESPONSES = {
    "400": "Invalid input: nothing was changed.",
    "401": "No credentials, or an invalid or revoked token.",
    "403": "Your role on the product does not allow this.",
    "404": "No such object, or one you may not see.",
    "413": "The request body is over the size limit; it was not read.",
    "429": "Too many requests from this token; wait for Retry-After seconds.",
    "503": "The database is unavailable; try again after Retry-After seconds.",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def _error_codes(method: str, path: str, operation: dict) -> list[str]:
    parameters = operation.get("parameters", [])
    codes = ["401", "429", "503"]
    if method in WRITE_METHODS or any(p.get("in") == "query" for p in parameters):
        codes.append("400")
    if method in WRITE_METHODS:
        codes.append("403")
    if "{" in path or any(p.get("name") == "page" for p in parameters):
        codes.append("404")  # or a page past the last one
    if "requestBody" in operation:
        codes.append("413")
    return codes


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: document the error answers every operation can give.

    The views only declare their success responses; the errors come from one
    place (pmhub.api.exception_handler, the permission layer, throttling and the
    request guards in pmhub.middleware) and share one body, the `Error` schema.
    Responses an operation declares itself are left as they are.
    """
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in WRITE_METHODS | {"get"}:
                continue
            responses = operation.setdefault("responses", {})
            for code in _error_codes(method, path, operation):
                if code in responses:
                    continue
                response = {"description": ERROR_RESPONSES[code], "content": {"application/json": {"schema": ref}}}
                if code in ("429", "503"):
                    response["headers"] = RETRY_AFTER
                responses[code] = response
    return result
