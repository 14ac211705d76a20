"""The kiosk's decision path: a measured passage → decision → ledger (committed) → uplink."""

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from calibration.decision import DecisionPolicy, Outcome, decide
from edge.config import KioskConfig, config_version
from edge.ledger import Ledger, LedgerFull
from edge.simulated_gate import SimulatedPassage
from edge.uplink import Uplink
from edge.wire import (
    Alert,
    AlertType,
    Birth,
    Decision,
    DeviceHealth,
    Entry,
    Health,
    Kind,
    Severity,
    now_utc,
    topic,
    uuid7,
)

log = logging.getLogger(__name__)


def software_version() -> str:
    try:
        return version("tempgate")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True)
class Recorded:
    """What one passage committed to the ledger: the entry, and the alert on a fever."""

    entry: Entry
    alert: Alert | None


class Kiosk:
    """Owns the ledger and the uplink of one kiosk; ``handle`` decides and records a passage."""

    def __init__(self, config: KioskConfig) -> None:
        self.config = config
        self.ledger = Ledger(config.ledger.path, config.ledger.max_mb)
        self.boot = self.ledger.next_boot()
        self.uplink = Uplink(config, self.ledger, self.boot)
        self.policy = DecisionPolicy(
            threshold_c=config.decision.threshold_c,
            plausible_low_c=config.decision.plausible_low_c,
            plausible_high_c=config.decision.plausible_high_c,
        )
        self.started_mono_s = time.monotonic()
        self.readings = 0
        self.refused = 0
        self._next_space_warning_s = 0.0
        k = config.kiosk
        self._topics = {kind: topic(k.site, k.gate, kind) for kind in Kind}
        birth = Birth(
            kiosk_id=k.id,
            site_id=k.site,
            gate_id=k.gate,
            event_id=uuid7(),
            seq=self.ledger.last_seq(),
            ts=now_utc(),
            boot=self.boot,
            software_version=software_version(),
            config_version=config_version(config),
            profile_version="threshold-only",
        )
        self.uplink.announce_on_connect(self._topics[Kind.BIRTH], birth.to_json())

    def start(self) -> None:
        self.uplink.start()
        log.info("event=kiosk_start kiosk=%s boot=%d", self.config.kiosk.id, self.boot)

    def stop(self) -> None:
        self.uplink.stop()
        self.ledger.close()

    def handle(self, passage: SimulatedPassage, device_id: str) -> Recorded:
        """Decide on one passage and commit it (with an alert on fever) before returning."""
        self.readings += 1
        k = self.config.kiosk
        outcome = decide(passage.body_c, self.policy)
        ts = now_utc()
        entry = Entry(
            kiosk_id=k.id,
            site_id=k.site,
            gate_id=k.gate,
            event_id=uuid7(),
            seq=0,
            ts=ts,
            decision=Decision(outcome.value),
            temperature_c=passage.body_c,
            threshold_c=self.policy.threshold_c,
            ambient_c=passage.ambient_c,
            person_id=passage.person_id,
            person_kind=passage.person_kind,
            device_id=device_id,
        )
        items: list[tuple[str, Entry | Alert]] = [(self._topics[Kind.ENTRY], entry)]
        if outcome is Outcome.FEVER_SUSPECT:
            alert = Alert(
                kiosk_id=k.id,
                site_id=k.site,
                gate_id=k.gate,
                event_id=uuid7(),
                seq=0,
                ts=ts,
                alert_type=AlertType.FEVER_SUSPECT,
                severity=Severity.CRITICAL,
                entry_event_id=entry.event_id,
                temperature_c=passage.body_c,
                person_id=passage.person_id,
                message=f"{passage.body_c:.1f} ℃ ≥ {self.policy.threshold_c:.1f} ℃: re-measure",
            )
            items.append((self._topics[Kind.ALERT], alert))
        committed = self.ledger.record(items)
        recorded_entry, *recorded_alert = committed
        assert isinstance(recorded_entry, Entry)
        self.uplink.wake()
        log.info(
            "event=decision person=%s decision=%s temperature_c=%.2f",
            passage.person_id,
            outcome.value,
            passage.body_c,
        )
        alert_out = recorded_alert[0] if recorded_alert else None
        assert alert_out is None or isinstance(alert_out, Alert)
        return Recorded(recorded_entry, alert_out)

    def publish_health(self) -> None:
        k = self.config.kiosk
        usage = self.ledger.usage()
        health = Health(
            kiosk_id=k.id,
            site_id=k.site,
            gate_id=k.gate,
            event_id=uuid7(),
            seq=self.ledger.last_seq(),
            ts=now_utc(),
            uptime_s=time.monotonic() - self.started_mono_s,
            outbox_pending=self.ledger.outbox_count(),
            disk_free_mb=usage.disk_free_mb,
            ledger_used_fraction=usage.fraction,
            refused_decisions=self.refused,
            devices=tuple(
                DeviceHealth(
                    device_id=d.id,
                    model=d.model,
                    online=True,
                    readings=self.readings,
                    dropped_frames=0,
                )
                for d in self.config.devices
            ),
        )
        self.uplink.publish_transient(self._topics[Kind.HEALTH], health.to_json())

    def _warn_about_space(self) -> None:
        """Warn well before the ledger or the disk is full, at most once a minute."""
        now_s = time.monotonic()
        if now_s < self._next_space_warning_s:
            return
        usage = self.ledger.usage()
        if usage.fraction >= 0.8 or usage.disk_free_mb < self.config.ledger.disk_warn_free_mb:
            log.warning(
                "event=ledger_space_low used_mb=%.1f max_mb=%.0f disk_free_mb=%.0f outbox=%d",
                usage.used_mb,
                usage.max_mb,
                usage.disk_free_mb,
                self.ledger.outbox_count(),
            )
            self._next_space_warning_s = now_s + 60

    def run(self, passages: Iterable[SimulatedPassage], stop: threading.Event) -> None:
        """Handle passages until they end or ``stop`` is set; health on its interval."""
        device_id = self.config.devices[0].id
        next_health_s = time.monotonic()
        next_retention_s = time.monotonic()
        for passage in passages:
            if time.monotonic() >= next_retention_s:
                self.ledger.purge_older_than(self.config.ledger.retention_days)
                next_retention_s = time.monotonic() + 86400
            if stop.is_set():
                break
            try:
                self.handle(passage, device_id)
            except LedgerFull as exc:
                # Not recorded means not decided: the screen says "measure by hand".
                self.refused += 1
                log.error("event=decision_refused person=%s reason=%s", passage.person_id, exc)
            self._warn_about_space()
            if time.monotonic() >= next_health_s:
                self.publish_health()
                next_health_s = time.monotonic() + self.config.mqtt.health_interval_s
