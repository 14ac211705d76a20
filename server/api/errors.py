"""Every error is JSON with a ``message`` a person can act on."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from edge.wire import key_path
from server.queries import CursorError


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{key_path(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()]
        return JSONResponse(
            status_code=422,
            content={"message": "invalid request: " + "; ".join(problems), "problems": problems},
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code, content={"message": str(exc.detail)}, headers=exc.headers
        )

    @app.exception_handler(CursorError)
    async def bad_cursor(request: Request, exc: CursorError) -> JSONResponse:
        return JSONResponse(status_code=400, content={"message": str(exc)})
