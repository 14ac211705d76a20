"""``tempgate-kiosk run --config FILE [--simulate]``: run the kiosk until SIGTERM or Ctrl-C.

With real devices the configured ports are opened; with ``--simulate`` each device's
byte-exact simulator is started on a pseudo-terminal (UVC cameras: a simulated capture) and
the same drivers read it. A config whose only device is ``simulated-point`` runs the thin
simulation (simulated people with body temperatures, no device bytes).
"""

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from edge.config import ConfigError, KioskConfig, load_config


def register(subparsers: "argparse._SubParsersAction[Any]") -> None:
    parser = subparsers.add_parser("run", help="run the kiosk", description=__doc__)
    parser.add_argument("--config", type=Path, required=True, help="kiosk TOML file")
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="device simulators on pseudo-terminals in place of hardware",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print("\n".join([f"{exc.path}:", *(f"  {p}" for p in exc.problems)]), file=sys.stderr)
        return 2
    thin = all(d.model == "simulated-point" for d in config.devices)
    if thin and not args.simulate:
        print("run: model simulated-point needs --simulate", file=sys.stderr)
        return 2
    missing = [
        f"devices[{i}].port"
        for i, d in enumerate(config.devices)
        if not thin and not args.simulate and not d.port
    ]
    if missing:
        print(
            f"run: {', '.join(missing)}: set the device path (or run --simulate)", file=sys.stderr
        )
        return 2

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return run_thin(config, stop) if thin else run_devices(config, args.simulate, stop)


def run_thin(config: KioskConfig, stop: threading.Event) -> int:
    from edge.kiosk import Kiosk
    from edge.simulated_gate import GateSimulation, passages

    kiosk = Kiosk(config)
    kiosk.start()
    sim = config.simulation
    try:
        kiosk.run(
            passages(
                GateSimulation(
                    gate_id=config.kiosk.gate,
                    people_per_minute=sim.people_per_minute,
                    fever_fraction=sim.fever_fraction,
                    roster_size=sim.roster_size,
                    seed=sim.seed,
                ),
                stop,
            ),
            stop,
        )
    finally:
        kiosk.stop()
    return 0


def run_devices(config: KioskConfig, simulate: bool, stop: threading.Event) -> int:
    from calibration.fusion import PipelineConfig
    from calibration.profile_io import ProfileError, default_profile, load_profile
    from edge.devices import DeviceRunner, Stoppable
    from edge.devices import simulate as start_simulators
    from edge.kiosk import Kiosk
    from edge.passage import PassageConfig, PassageTracker
    from edge.pipeline import Pipeline
    from edge.roster import RosterSync

    try:
        profile = (
            load_profile(config.calibration.profile)
            if config.calibration.profile
            else default_profile()
        )
    except (ProfileError, OSError) as exc:
        print(f"run: calibration.profile: {exc}", file=sys.stderr)
        return 2
    simulators: list[Stoppable] = []
    ports = {d.id: d.port or "" for d in config.devices}
    if simulate:
        ports, simulators = start_simulators(config.devices, seed=config.simulation.seed or 0)
    kiosk = Kiosk(config, profile_version=f"{profile.name}@{profile.version}")
    kiosk.start()
    sync = None
    if config.roster.api_url and config.roster.token:
        url = f"{config.roster.api_url.rstrip('/')}/api/v1/sites/{config.kiosk.site}/roster"
        sync = RosterSync(kiosk.roster, url, config.roster.token, config.roster.refresh_s)
        sync.start()
    p = config.passage
    tracker = PassageTracker(
        PassageConfig(
            good_frames_to_decide=p.good_frames_to_decide,
            measure_timeout_s=p.measure_timeout_s,
            cooldown_s=p.cooldown_s,
            id_window_s=p.id_window_s,
            retest_window_s=p.retest_window_s,
            presence_c=p.presence_c,
        ),
        # Camera frames carry their own pipeline config; this one serves point readings.
        PipelineConfig(),
        profile,
        kiosk.policy,
    )
    wake = threading.Event()
    runners = [DeviceRunner(d, ports[d.id], wake) for d in config.devices]
    pipeline = Pipeline(kiosk, runners, tracker, wake)
    for runner in runners:
        runner.start()
    try:
        pipeline.run(stop, config.mqtt.health_interval_s)
    finally:
        for runner in runners:
            runner.stop()
        for simulator in simulators:
            simulator.stop()
        if sync is not None:
            sync.stop()
        kiosk.stop()
    return 0
