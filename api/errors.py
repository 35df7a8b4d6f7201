"""One error shape for every failure: ``{"error": {"code", "message"}}``."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.blobs import UploadTooLarge
from provenance.errors import MediaError, NotFoundError

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "upload_too_large", 415: "unsupported_media_type", 422: "invalid_request",
    429: "too_many_requests", 503: "not_ready",
}


class ApiError(StarletteHTTPException):
    def __init__(self, status_code: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code = code


def not_found(what: str = "object") -> ApiError:
    """The same answer for "does not exist" and "is not yours": existence never leaks."""
    return ApiError(404, "not_found", f"no such {what}")


def error_response(status: int, code: str, message: str, headers=None, details=None) -> JSONResponse:
    body: dict = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = getattr(exc, "code", None) or _CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and code == "not_found" and not isinstance(exc, ApiError):
            message = "no such resource"
        return error_response(exc.status_code, code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        details = []
        for error in exc.errors():
            details.append({"loc": [str(part) for part in error.get("loc", ())], "msg": error.get("msg", ""), "type": error.get("type", "")})
        summary = "; ".join(f"{'.'.join(d['loc'][1:]) or d['loc'][0] if d['loc'] else 'request'}: {d['msg']}" for d in details)
        return error_response(422, "invalid_request", summary or "invalid request", details=details)

    @app.exception_handler(UploadTooLarge)
    async def _too_large(request: Request, exc: UploadTooLarge):
        return error_response(413, "upload_too_large", str(exc))

    @app.exception_handler(MediaError)
    async def _media(request: Request, exc: MediaError):
        return error_response(422, exc.code, str(exc))

    @app.exception_handler(NotFoundError)
    async def _missing(request: Request, exc: NotFoundError):
        return error_response(404, "not_found", str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal_error", "internal error; the server log has the details")
