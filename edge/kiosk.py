"""The kiosk's decision path: a measured passage → decision → ledger (committed) → uplink."""

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import cast

from calibration.decision import DecisionPolicy, Outcome, decide
from edge.config import KioskConfig, config_version
from edge.ledger import Ledger, LedgerFull
from edge.passage import PassageDecision
from edge.roster import Admission, RosterCache
from edge.rounds import round_at
from edge.screen import KioskScreen, ScreenOutcome, ScreenResult
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
    PersonKind,
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
    person_name: str | None = None


class Kiosk:
    """Owns the ledger and the uplink of one kiosk; ``handle`` decides and records a passage."""

    def __init__(
        self,
        config: KioskConfig,
        profile_version: str = "threshold-only",
        screen: KioskScreen | None = None,
    ) -> None:
        self.config = config
        self.screen = screen
        self.ledger = Ledger(config.ledger.path, config.ledger.max_mb)
        self.boot = self.ledger.next_boot()
        self.uplink = Uplink(config, self.ledger, self.boot)
        self.policy = DecisionPolicy(
            threshold_c=config.decision.threshold_c,
            plausible_low_c=config.decision.plausible_low_c,
            plausible_high_c=config.decision.plausible_high_c,
            min_skin_c=config.decision.min_skin_c,
            max_uncertainty_c=config.decision.max_uncertainty_c,
        )
        self.started_mono_s = time.monotonic()
        self.readings = 0
        self.refused = 0
        self._fever_events: dict[str, str] = {}
        self.roster = RosterCache(
            config.ledger.path.with_name("roster.sqlite"), config.roster.unknown_policy
        )
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
            profile_version=profile_version,
        )
        self.uplink.announce_on_connect(self._topics[Kind.BIRTH], birth.to_json())

    def start(self) -> None:
        self.uplink.start()
        log.info("event=kiosk_start kiosk=%s boot=%d", self.config.kiosk.id, self.boot)

    def stop(self) -> None:
        self.uplink.stop()
        self.ledger.close()

    def handle(self, passage: SimulatedPassage, device_id: str) -> Recorded:
        """The thin simulation (no devices): a reading that already is a body temperature."""
        outcome = decide(passage.body_c, self.policy)
        return self.record(
            PassageDecision(
                t_mono_s=time.monotonic(),
                outcome=outcome,
                core_c=passage.body_c,
                skin_c=None,
                ambient_c=passage.ambient_c,
                uncertainty_c=None,
                quality=(),
                device_id=device_id,
                person_id=passage.person_id,
                retest_of_person=None,
            ),
            person_kind=passage.person_kind,
        )

    def record(self, decided: PassageDecision, person_kind: PersonKind | None = None) -> Recorded:
        """Commit one decision (with an alert on a fever) before it is shown or sent."""
        self.readings += 1
        k = self.config.kiosk
        ts = now_utc()
        # A caller that knows the person (the thin simulation) vouches for them.
        admission = (
            Admission(decided.person_id, None, person_kind, "admitted")
            if person_kind is not None
            else self.roster.admit(decided.person_id, ts)
        )
        retest_of = (
            self._fever_events.get(decided.retest_of_person)
            if decided.retest_of_person is not None
            else None
        )
        entry = Entry(
            kiosk_id=k.id,
            site_id=k.site,
            gate_id=k.gate,
            event_id=uuid7(),
            seq=0,
            ts=ts,
            decision=Decision(decided.outcome.value),
            temperature_c=decided.core_c,
            threshold_c=self.policy.threshold_c,
            skin_c=decided.skin_c,
            ambient_c=decided.ambient_c,
            person_id=decided.person_id,
            person_kind=person_kind or admission.kind,
            round=round_at(ts, self.config.rounds, k.tz),
            device_id=decided.device_id,
            quality_flags=decided.quality,
            retest_of=retest_of,
            admission=admission.admission,
        )
        items: list[tuple[str, Entry | Alert]] = [(self._topics[Kind.ENTRY], entry)]
        alert_type = {
            Outcome.FEVER_SUSPECT: AlertType.FEVER_SUSPECT,
            Outcome.CONFIRMED: AlertType.FEVER_CONFIRMED,
        }.get(decided.outcome)
        if alert_type is not None:
            shown = "?" if decided.core_c is None else f"{decided.core_c:.1f} ℃"
            items.append(
                (
                    self._topics[Kind.ALERT],
                    Alert(
                        kiosk_id=k.id,
                        site_id=k.site,
                        gate_id=k.gate,
                        event_id=uuid7(),
                        seq=0,
                        ts=ts,
                        alert_type=alert_type,
                        severity=Severity.CRITICAL,
                        entry_event_id=entry.event_id,
                        temperature_c=decided.core_c,
                        person_id=decided.person_id,
                        message=f"{shown} ≥ {self.policy.threshold_c:.1f} ℃: "
                        + (
                            "re-measure at the isolation point"
                            if alert_type is AlertType.FEVER_SUSPECT
                            else "confirmed on re-test"
                        ),
                    ),
                )
            )
        committed = self.ledger.record(items)
        recorded_entry = committed[0]
        recorded_alert = committed[1] if len(committed) > 1 else None
        assert isinstance(recorded_entry, Entry)
        assert recorded_alert is None or isinstance(recorded_alert, Alert)
        if decided.outcome is Outcome.FEVER_SUSPECT:
            self._fever_events[decided.person_id or ""] = recorded_entry.event_id
        self.uplink.wake()
        log.info(
            "event=decision person=%s decision=%s temperature_c=%s admission=%s",
            decided.person_id,
            decided.outcome.value,
            decided.core_c,
            admission.admission,
        )
        recorded = Recorded(recorded_entry, recorded_alert, admission.name)
        self._show(decided, recorded, admission.admission)
        return recorded

    def _show(self, decided: PassageDecision, recorded: Recorded, admission: str) -> None:
        """The result goes on the screen only now, after it is committed."""
        if self.screen is None:
            return
        outcome = "refused" if admission == "refused" else decided.outcome.value
        reasons = ", ".join(decided.quality) if decided.outcome is Outcome.REMEASURE else ""
        self.screen.show_result(
            ScreenResult(
                outcome=cast(ScreenOutcome, outcome),
                temperature_c=decided.core_c,
                person_name=recorded.person_name,
                person_id=decided.person_id,
                message=reasons,
                ts_utc=recorded.entry.ts,
            )
        )

    def show_unrecorded(self, person_id: str | None) -> None:
        """The ledger refused the decision: nothing is final, the guard measures by hand."""
        if self.screen is not None:
            self.screen.show_result(
                ScreenResult(
                    outcome="remeasure",
                    temperature_c=None,
                    person_name=None,
                    person_id=person_id,
                    message="记录失败，请人工测温 / not recorded: measure by hand",
                    ts_utc=now_utc(),
                )
            )

    def raise_device_fault(self, device_id: str, reason: str) -> Alert:
        """A device stopped delivering: security staff must know the gate is not screening."""
        k = self.config.kiosk
        alert = Alert(
            kiosk_id=k.id,
            site_id=k.site,
            gate_id=k.gate,
            event_id=uuid7(),
            seq=0,
            ts=now_utc(),
            alert_type=AlertType.DEVICE_FAULT,
            severity=Severity.WARNING,
            message=f"device {device_id} offline: {reason}"[:500],
        )
        (committed,) = self.ledger.record([(self._topics[Kind.ALERT], alert)])
        assert isinstance(committed, Alert)
        self.uplink.wake()
        return committed

    def publish_health(self, devices: dict[str, tuple[bool, int, int]] | None = None) -> None:
        """Health; ``devices``: device id → (online, events, dropped frames) when known."""
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
                    online=(devices or {}).get(d.id, (True, 0, 0))[0],
                    readings=(devices or {}).get(d.id, (True, self.readings, 0))[1],
                    dropped_frames=(devices or {}).get(d.id, (True, 0, 0))[2],
                )
                for d in self.config.devices
            ),
        )
        self.uplink.publish_transient(self._topics[Kind.HEALTH], health.to_json())

    def warn_about_space(self) -> None:
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
                self.show_unrecorded(passage.person_id)
                log.error("event=decision_refused person=%s reason=%s", passage.person_id, exc)
            self.warn_about_space()
            if time.monotonic() >= next_health_s:
                self.publish_health()
                next_health_s = time.monotonic() + self.config.mqtt.health_interval_s
