"""The site's roster and visitor approvals, cached on the kiosk so the gate keeps working
offline. A background thread refreshes the cache from the collector
(``GET /api/v1/sites/{site}/roster``); lookups never wait for the network.
"""

import json
import logging
import sqlite3
import threading
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge.wire import PersonKind

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Admission:
    """Who stands at the gate and whether the site lets them in."""

    person_id: str | None
    name: str | None
    kind: PersonKind
    admission: str  # admitted | refused | registered


class RosterCache:
    """The last roster fetched, kept in a small SQLite file beside the ledger."""

    def __init__(self, path: Path, unknown_policy: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS roster (version TEXT, document TEXT)")
        self._db.commit()
        self._lock = threading.Lock()
        self.unknown_policy = unknown_policy
        self._people: dict[str, dict[str, Any]] = {}
        self._visitors: list[dict[str, Any]] = []
        self.version = ""
        row = self._db.execute("SELECT version, document FROM roster").fetchone()
        if row is not None:
            self._load(row[0], json.loads(row[1]))

    def _load(self, version: str, document: dict[str, Any]) -> None:
        self.version = version
        self._people = {p["person_id"]: p for p in document.get("people", [])}
        self._visitors = list(document.get("visitors", []))

    def replace(self, document: dict[str, Any]) -> None:
        """Store a roster document as the collector serves it."""
        version = str(document.get("version", ""))
        with self._lock:
            self._db.execute("DELETE FROM roster")
            self._db.execute("INSERT INTO roster VALUES (?, ?)", [version, json.dumps(document)])
            self._db.commit()
            self._load(version, document)

    def admit(self, person_id: str | None, at: datetime) -> Admission:
        """Roster members are admitted; visitors inside their approved window too; anyone
        else by the site's policy (refused, or admitted and registered)."""
        if person_id is None:
            return Admission(None, None, PersonKind.UNKNOWN, "admitted")
        with self._lock:
            person = self._people.get(person_id)
            visitors = [v for v in self._visitors if v["person_id"] == person_id]
        if person is not None:
            return Admission(person_id, person["name"], PersonKind(person["kind"]), "admitted")
        stamp = at.astimezone(UTC)
        for visitor in visitors:
            start = datetime.fromisoformat(visitor["valid_from"])
            end = datetime.fromisoformat(visitor["valid_until"])
            if start <= stamp < end:
                return Admission(person_id, visitor["name"], PersonKind.VISITOR, "admitted")
        policy = "refused" if self.unknown_policy == "refuse" else "registered"
        kind = PersonKind.VISITOR if visitors else PersonKind.UNKNOWN
        return Admission(person_id, None, kind, policy)


class RosterSync:
    """Refreshes the cache every ``refresh_s`` from the collector; failures keep the cache."""

    def __init__(self, cache: RosterCache, url: str, token: str, refresh_s: float) -> None:
        self._cache = cache
        self._url = url
        self._token = token
        self._refresh_s = refresh_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="roster-sync", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def fetch_once(self) -> bool:
        request = urllib.request.Request(self._url)
        request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                document = json.loads(response.read())
        except (OSError, ValueError) as exc:
            log.warning("event=roster_sync_failed url=%s reason=%s", self._url, exc)
            return False
        self._cache.replace(document)
        log.info("event=roster_synced version=%s", self._cache.version)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self.fetch_once()
            self._stop.wait(self._refresh_s)
