"""MLflow's error shape: `{"error_code": "...", "message": "..."}` with the HTTP status
MLflow's own server uses for that code, so the official client raises its usual
MlflowException / RestException with the same error_code.
"""
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse

RESOURCE_DOES_NOT_EXIST = "RESOURCE_DOES_NOT_EXIST"
RESOURCE_ALREADY_EXISTS = "RESOURCE_ALREADY_EXISTS"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
INVALID_STATE = "INVALID_STATE"
PERMISSION_DENIED = "PERMISSION_DENIED"
UNAUTHENTICATED = "UNAUTHENTICATED"
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
BAD_REQUEST = "BAD_REQUEST"

# mlflow.exceptions.ERROR_CODE_TO_HTTP_STATUS, for the codes pmhub uses. INVALID_STATE
# is 500 there, which the client retries for minutes; pmhub's invalid states are the
# caller's doing, so they answer 400 like INVALID_PARAMETER_VALUE.
HTTP_STATUS = {
    RESOURCE_DOES_NOT_EXIST: 404,
    RESOURCE_ALREADY_EXISTS: 400,
    INVALID_PARAMETER_VALUE: 400,
    INVALID_STATE: 400,
    PERMISSION_DENIED: 403,
    UNAUTHENTICATED: 401,
    ENDPOINT_NOT_FOUND: 404,
    NOT_IMPLEMENTED: 501,
    BAD_REQUEST: 400,
}


class MlflowError(Exception):
    def __init__(self, message: str, code: str = INVALID_PARAMETER_VALUE, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status or HTTP_STATUS.get(code, 400)

    def response(self) -> JsonResponse:
        resp = JsonResponse({"error_code": self.code, "message": self.message}, status=self.status)
        if self.status == 401:
            resp["WWW-Authenticate"] = 'Bearer realm="pmhub", Basic realm="pmhub"'
        return resp


def invalid(message: str) -> MlflowError:
    return MlflowError(message, INVALID_PARAMETER_VALUE)


def not_found(message: str) -> MlflowError:
    return MlflowError(message, RESOURCE_DOES_NOT_EXIST)


def unsupported(message: str) -> MlflowError:
    return MlflowError(message, NOT_IMPLEMENTED)


def validation_message(exc: ValidationError) -> str:
    """One line out of a Django ValidationError: 'field: message; field: message'."""
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(str(m) for e in errors for m in e.messages)}"
            for field, errors in exc.error_dict.items()
        )
    return " ".join(str(m) for m in exc.messages)


def from_exception(exc: Exception) -> MlflowError | None:
    """The MLflow error for an exception a service raised, or None if it is not one of ours."""
    if isinstance(exc, MlflowError):
        return exc
    if isinstance(exc, ValidationError):
        from kpis.ml.mlflow.services import AlreadyExists

        code = RESOURCE_ALREADY_EXISTS if isinstance(exc, AlreadyExists) else INVALID_PARAMETER_VALUE
        return MlflowError(validation_message(exc), code)
    if isinstance(exc, Http404):
        return not_found(str(exc) or "Not found (or not visible to you).")
    if isinstance(exc, PermissionDenied):
        return MlflowError(str(exc) or "Your role does not allow this.", PERMISSION_DENIED)
    return None
