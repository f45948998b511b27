"""Kubernetes-style API errors: every failure leaves the server as a `kind: Status`."""

from __future__ import annotations


class ApiError(Exception):
    """An error the API server answers with a Status object (kubectl prints `reason` and `message`)."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def not_found(plural: str, group: str, name: str) -> ApiError:
    qualified = f"{plural}.{group}" if group else plural
    return ApiError(404, "NotFound", f'{qualified} "{name}" not found',
                    {"name": name, "group": group, "kind": plural})


def already_exists(plural: str, group: str, name: str) -> ApiError:
    qualified = f"{plural}.{group}" if group else plural
    return ApiError(409, "AlreadyExists", f'{qualified} "{name}" already exists',
                    {"name": name, "group": group, "kind": plural})


def conflict(plural: str, group: str, name: str) -> ApiError:
    qualified = f"{plural}.{group}" if group else plural
    return ApiError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {qualified} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        {"name": name, "group": group, "kind": plural})


def precondition_failed(kind: str, group: str, name: str, field: str, given: str, actual: str) -> ApiError:
    """A DELETE whose DeleteOptions.preconditions do not hold. Worded as the API server's
    `rest.BeforeDelete` words it: the object is named by its Kind (not its plural), e.g.
    `Operation cannot be fulfilled on Pod "r1": the UID in the precondition (a) does not match the UID in
    record (b). The object might have been deleted and then recreated`."""
    qualified = f"{kind}.{group}" if group else kind
    why = ("The object might have been deleted and then recreated" if field == "UID"
           else "The object might have been modified")
    return ApiError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {qualified} "{name}": the {field} in the precondition ({given}) '
        f"does not match the {field} in record ({actual}). {why}",
        {"name": name, **({"group": group} if group else {}), "kind": kind})   # Go's omitempty


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def invalid(kind: str, group: str, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 Invalid with field causes, worded like the API server: `Kind "name" is invalid: field: msg`."""
    qualified = f"{kind}.{group}" if group else kind
    text = ", ".join(f"{field}: {msg}" for field, msg in causes)
    return ApiError(
        422, "Invalid", f'{qualified} "{name}" is invalid: {text}',
        {"name": name, "group": group, "kind": kind,
         "causes": [{"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes]})


def forbidden(message: str) -> ApiError:
    return ApiError(403, "Forbidden", message)


def expired(message: str = "too old resource version") -> ApiError:
    return ApiError(410, "Expired", message)


def unsupported_media(message: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", message)


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, "MethodNotAllowed", message)
