"""``/console/``: the security staff's page, served as plain static files (no build step).

The files need no token: they hold no data. The page asks for a token once, keeps it in the
browser's localStorage, and sends it with every ``/api/v1`` call it makes.
"""

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse

router = APIRouter(tags=["console"])

CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"
# Only these kinds are served; ES modules must come as JavaScript or the browser refuses them.
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


def _file(name: str) -> FileResponse:
    path = CONSOLE_DIR / name
    # A name with a slash or dots could reach outside the folder; the console is flat.
    if "/" in name or name.startswith(".") or path.suffix not in MEDIA_TYPES or not path.is_file():
        raise HTTPException(404, f"no console file {name!r}; open /console/")
    # no-cache: a kiosk-room screen must pick up a new console after an upgrade, not a stale one.
    return FileResponse(
        path, media_type=MEDIA_TYPES[path.suffix], headers={"Cache-Control": "no-cache"}
    )


@router.get("/console", include_in_schema=False)
def console_root() -> RedirectResponse:
    return RedirectResponse("/console/")


@router.get("/console/", include_in_schema=False)
def console_index() -> FileResponse:
    return _file("index.html")


@router.get("/console/{name}", include_in_schema=False)
def console_file(name: str) -> FileResponse:
    return _file(name)
