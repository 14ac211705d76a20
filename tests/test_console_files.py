"""The console's static files as the collector serves them: no token, no build, nothing remote."""

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from edge.wire import AlertType, Decision, KioskState, PersonKind, Round
from server.alerts import KIOSK_OFFLINE, AlertStatus, Disposition
from server.api.app import create_app
from server.api.console import CONSOLE_DIR

IMPORT = re.compile(r"""^import .* from "\./([\w-]+\.js)";$""", re.MULTILINE)


class Client:
    """The app in this process, called over ASGI (static files need no lifespan)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def get(self, path: str, follow_redirects: bool = True) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://console") as c:
                return await c.get(path, follow_redirects=follow_redirects)

        return asyncio.run(call())


@pytest.fixture
def client(tmp_path: Path) -> Client:
    return Client(create_app(tmp_path / "store.sqlite"))


def test_the_console_page_is_served_without_a_token(client: Client) -> None:
    redirect = client.get("/console", follow_redirects=False)
    assert (redirect.status_code, redirect.headers["location"]) == (307, "/console/")
    page = client.get("/console/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/console/app.js">' in page.text


def test_every_module_the_page_imports_is_served_as_javascript(client: Client) -> None:
    pending, seen = ["app.js"], set()
    while pending:
        name = pending.pop()
        seen.add(name)
        response = client.get(f"/console/{name}")
        assert response.status_code == 200, name
        # A module served under any other type is refused by the browser.
        assert response.headers["content-type"].startswith("text/javascript"), name
        pending.extend(set(IMPORT.findall(response.text)) - seen)
    assert seen == {p.name for p in CONSOLE_DIR.glob("*.js")}


def test_nothing_is_loaded_from_outside_the_collector() -> None:
    remote = re.compile(r"""(src|href|import|url)\W{0,3}(https?:)?//""", re.IGNORECASE)
    for path in CONSOLE_DIR.iterdir():
        assert not remote.search(path.read_text()), f"{path.name} loads something remote"


@pytest.mark.parametrize("name", ["..%2Fapi%2Fapp.py", "..", ".hidden.js", "missing.js", "live.py"])
def test_a_file_outside_the_console_is_refused_with_a_message(client: Client, name: str) -> None:
    response = client.get(f"/console/{name}")
    assert response.status_code == 404
    assert response.json()["message"]


def test_a_missing_console_file_says_where_the_console_is(client: Client) -> None:
    assert client.get("/console/missing.js").json() == {
        "message": "no console file 'missing.js'; open /console/"
    }


def dictionary_keys(block: str) -> set[str]:
    return set(re.findall(r'^\s+"?([\w.]+)"?: "', block, re.MULTILINE))


def test_both_languages_have_every_string_the_pages_ask_for() -> None:
    source = (CONSOLE_DIR / "i18n.js").read_text()
    zh_block, en_block = source.split('\n  "zh-CN": {\n', 1)[1].split("\n  en: {\n", 1)
    en_block = en_block.split("\n  },\n", 1)[0]
    zh, en = dictionary_keys(zh_block), dictionary_keys(en_block)
    assert len(zh) > 100
    assert zh == en, f"only in zh-CN: {zh - en}; only in en: {en - zh}"
    asked: set[str] = set()
    for path in CONSOLE_DIR.glob("*.js"):
        asked |= set(re.findall(r'\bt\("([\w.]+)"', path.read_text()))
    html = (CONSOLE_DIR / "index.html").read_text()
    asked |= set(re.findall(r'data-i18n="([\w.]+)"', html))
    assert asked - zh == set()


def test_every_value_the_server_sends_has_a_label_in_the_dictionary() -> None:
    source = (CONSOLE_DIR / "i18n.js").read_text()
    zh = dictionary_keys(source.split("\n  en: {\n", 1)[0])
    needed = (
        {f"alert.{t.value}" for t in AlertType}
        | {f"alert.{KIOSK_OFFLINE}"}
        | {f"status.{s.value}" for s in AlertStatus}
        | {f"disposition.{d.value}" for d in Disposition}
        | {f"kiosk.{s.value}" for s in KioskState}
        | {f"round.{r.value}" for r in Round}
        | {f"kind.{k.value}" for k in PersonKind}
        | {f"counts.{d.value}" for d in Decision}
        | {f"retest.{d.value}" for d in Decision}
    )
    assert needed - zh == set()
