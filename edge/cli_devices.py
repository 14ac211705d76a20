"""``tempgate-kiosk devices scan|read``, ``record`` and ``simulate``: the devices, by hand.

``devices read`` prints one line per reading or frame (``--json``: one JSON object per line),
device offline/online events as they happen, and the driver's counters when it stops.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from drivers import registry
from drivers.base import DeviceOffline, DeviceOnline, Driver, DriverError, Frame, describe
from drivers.replay import BlackbodyMeta, RecordingMeta, save_recording

log = logging.getLogger(__name__)

INJECTIONS = ("garbage", "bad-checksum", "split", "stall", "unplug")


def register(subparsers: Any) -> None:
    """Add ``devices``, ``record`` and ``simulate`` to the kiosk's command line."""
    devices = subparsers.add_parser("devices", help="find and read screening devices")
    dsub = devices.add_subparsers(dest="devices_command", required=True, metavar="ACTION")

    scan = dsub.add_parser("scan", help="list serial ports (USB ids, by-id paths) and cameras")
    scan.add_argument("--json", action="store_true", help="one JSON object per line")
    scan.set_defaults(handler=_scan)

    read = dsub.add_parser("read", help="read a device and print what it sends")
    _device_args(read)
    read.add_argument("--count", type=int, default=0, help="stop after N readings/frames")
    read.add_argument("--seconds", type=float, default=0.0, help="stop after S seconds")
    read.add_argument("--json", action="store_true", help="one JSON object per line")
    read.set_defaults(handler=_read)

    record = subparsers.add_parser("record", help="record a thermal device to a .npz replay")
    _device_args(record)
    record.add_argument("--seconds", type=float, required=True, help="how long to record")
    record.add_argument("--out", type=Path, required=True, help="FILE.npz to write")
    record.add_argument(
        "--blackbody",
        metavar="X,Y,W,H,SET_C",
        help="the reference blackbody in view: box in pixels and its set temperature in ℃",
    )
    record.set_defaults(handler=_record)

    simulate = subparsers.add_parser("simulate", help="serve a simulated device on a pty")
    simulate.add_argument("--model", required=True, choices=registry.SERIAL_MODELS)
    simulate.add_argument(
        "--inject",
        default="",
        help=f"comma-separated faults: {', '.join(INJECTIONS)} (stall/unplug repeat)",
    )
    simulate.add_argument("--link", type=Path, help="serve through this symlink path")
    simulate.add_argument("--baud", type=int, help="the baud the simulated device speaks")
    simulate.add_argument("--map", help="modbus-ir register map (model name or TOML file)")
    simulate.add_argument("--seconds", type=float, default=0.0, help="stop after S seconds")
    simulate.add_argument(
        "--period-s",
        type=float,
        default=10.0,
        help="fault period P: stall for 0.3·P every P s, unplug for 0.2·P every 1.5·P s",
    )
    simulate.add_argument("--seed", type=int, default=0)
    simulate.set_defaults(handler=_simulate)


def _device_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, choices=registry.MODELS)
    parser.add_argument(
        "--port",
        required=True,
        help="device path or pyserial URL; /dev/videoN or 'sim' for cameras; FILE.npz for replay",
    )
    parser.add_argument("--baud", type=int, help="baud rate (default: the model's)")
    parser.add_argument("--map", help="modbus-ir register map: a shipped model name or a TOML file")
    parser.add_argument("--pattern", help="ascii-line regex with a named group object_c")
    parser.add_argument("--stall-s", type=float, help="seconds without data before offline")


def _options(args: argparse.Namespace, realtime: bool = True) -> registry.DriverOptions:
    return registry.DriverOptions(
        baud=args.baud, map=args.map, pattern=args.pattern, stall_s=args.stall_s, realtime=realtime
    )


def _setup_logging() -> None:
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s"
    )


def _stop_after(driver: Driver, seconds: float) -> None:
    if seconds > 0:
        timer = threading.Timer(seconds, driver.close)
        timer.daemon = True
        timer.start()


def _text_line(info: dict[str, Any]) -> str:
    kind = info["kind"]
    head = f"{info['ts_utc']} {info['device_id']} {kind}"
    if kind == "reading":
        amb = "" if info["ambient_c"] is None else f" ambient_c={info['ambient_c']:.2f}"
        return f"{head} object_c={info['object_c']:.2f}{amb}"
    if kind == "frame":
        shape = "x".join(str(n) for n in info["shape"])
        amb = "" if info["ambient_c"] is None else f" ambient_c={info['ambient_c']:.2f}"
        return (
            f"{head} shape={shape} min_c={info['min_c']:.2f} max_c={info['max_c']:.2f} "
            f"mean_c={info['mean_c']:.2f}{amb}"
        )
    if kind == "id":
        return f"{head} id_text={info['id_text']} raw_text={info['raw_text']}"
    if kind == "offline":
        return f"{head} reason={info['reason']!r}"
    return f"{head} port={info['port']}"


def _read(args: argparse.Namespace) -> int:
    _setup_logging()
    try:
        driver = registry.open_driver(args.model, args.port, _options(args, realtime=True))
    except DriverError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    data = 0
    _stop_after(driver, args.seconds)
    try:
        with driver:
            for event in driver:
                info = describe(event)
                print(json.dumps(info) if args.json else _text_line(info), flush=True)
                if isinstance(event, DeviceOffline | DeviceOnline):
                    continue
                data += 1
                if args.count and data >= args.count:
                    break
    except KeyboardInterrupt:
        pass
    counters = {"kind": "counters", "device_id": driver.device_id, **driver.counters.as_dict()}
    if args.json:
        print(json.dumps(counters), flush=True)
    else:
        print(" ".join(f"{k}={v}" for k, v in counters.items()), flush=True)
    return 0


def _parse_blackbody(text: str | None) -> BlackbodyMeta | None:
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) != 5:
        raise DriverError(f"--blackbody {text!r}: need X,Y,W,H,SET_C, e.g. 220,12,23,23,35.0")
    try:
        x, y, w, h = (int(p) for p in parts[:4])
        return BlackbodyMeta(x, y, w, h, float(parts[4]))
    except ValueError as exc:
        raise DriverError(f"--blackbody {text!r}: {exc}") from exc


def _record(args: argparse.Namespace) -> int:
    _setup_logging()
    if args.model not in registry.THERMAL_MODELS:
        print(
            f"error: --model {args.model} is not a thermal camera; record one of "
            f"{', '.join(registry.THERMAL_MODELS)}",
            file=sys.stderr,
        )
        return 2
    try:
        blackbody = _parse_blackbody(args.blackbody)
        driver = registry.open_driver(args.model, args.port, _options(args))
    except DriverError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    frames: list[np.ndarray[Any, Any]] = []
    raws: list[np.ndarray[Any, Any] | None] = []
    raw_formats: set[str | None] = set()
    times: list[float] = []
    ambients: list[float] = []
    _stop_after(driver, args.seconds)
    try:
        with driver:
            for event in driver:
                if isinstance(event, Frame):
                    frames.append(event.frame_c)
                    raws.append(event.frame_raw)
                    raw_formats.add(event.raw_format)
                    times.append(event.t_mono_s)
                    if event.ambient_c is not None:
                        ambients.append(event.ambient_c)
                elif isinstance(event, DeviceOffline):
                    print(f"offline: {event.reason}", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    if not frames:
        print(f"error: no frame arrived from {args.port} in {args.seconds:g} s", file=sys.stderr)
        return 1
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        print(f"error: the frame size changed while recording: {sorted(shapes)}", file=sys.stderr)
        return 1
    ambient = round(float(np.median(ambients)), 2) if ambients else None
    meta = RecordingMeta(args.model, ambient, blackbody)
    t_s = np.asarray(times) - times[0]
    # Raw counts when the camera sent them for every frame: lossless and half the size.
    raw_format = next(iter(raw_formats)) if len(raw_formats) == 1 else None
    if raw_format is not None and all(r is not None for r in raws):
        frames_raw = np.stack([r for r in raws if r is not None]).astype(np.uint16)
        save_recording(
            args.out, np.stack(frames), t_s, meta, frames_raw=frames_raw, raw_format=raw_format
        )
    else:
        save_recording(args.out, np.stack(frames), t_s, meta)
    print(f"recorded {len(frames)} frames of {frames[0].shape} to {args.out}", flush=True)
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from drivers.sim_pty import Faults, PtySimulator

    _setup_logging()
    inject = {s.strip() for s in args.inject.split(",") if s.strip()}
    unknown = inject - set(INJECTIONS)
    if unknown:
        print(
            f"error: --inject {','.join(sorted(unknown))}: unknown; choose from "
            f"{', '.join(INJECTIONS)}",
            file=sys.stderr,
        )
        return 2
    options = registry.DriverOptions(baud=args.baud, map=args.map)
    try:
        device = registry.simulated_device(args.model, options, seed=args.seed)
    except DriverError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    faults = Faults(
        garbage_every=5 if "garbage" in inject else 0,
        bad_checksum_every=7 if "bad-checksum" in inject else 0,
        split_frames="split" in inject,
    )
    sim = PtySimulator(device, link_path=args.link, faults=faults, seed=args.seed)
    started = time.monotonic()
    with sim:
        print(f"serving {args.model} at {sim.path} (pty {sim.pts_path})", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            _run_schedule(sim, inject, started, args.seconds, args.period_s)
    print(
        "stopped " + " ".join(f"{k}={v}" for k, v in vars(sim.stats).items()),
        flush=True,
    )
    return 0


def _run_schedule(
    sim: Any, inject: set[str], started: float, seconds: float, period_s: float
) -> None:
    """Repeat stalls and unplugs (see ``--period-s``) until told to stop."""
    next_stall = started + period_s
    next_unplug = started + 1.5 * period_s
    while seconds <= 0 or time.monotonic() - started < seconds:
        now = time.monotonic()
        if "stall" in inject and now >= next_stall:
            print(f"stall {0.3 * period_s:g} s", flush=True)
            sim.stall(0.3 * period_s)
            next_stall = now + period_s
        if "unplug" in inject and now >= next_unplug:
            print(f"unplug {0.2 * period_s:g} s", flush=True)
            sim.unplug()
            time.sleep(0.2 * period_s)
            sim.replug()
            print(f"replugged at {sim.path} (pty {sim.pts_path})", flush=True)
            next_unplug = time.monotonic() + 1.5 * period_s
        time.sleep(0.02)


def _scan(args: argparse.Namespace) -> int:
    for item in scan_devices():
        if args.json:
            print(json.dumps(item))
        else:
            print(" ".join(f"{k}={v}" for k, v in item.items() if v not in (None, "")))
    return 0


def scan_devices() -> list[dict[str, Any]]:
    """Serial ports (with USB VID:PID, serial number, by-id path) and V4L2 video devices."""
    from serial.tools import list_ports  # lazy: a kiosk extra

    by_id = _links(Path("/dev/serial/by-id"))
    out: list[dict[str, Any]] = []
    for port in sorted(list_ports.comports(), key=lambda p: p.device):
        out.append(
            {
                "kind": "serial",
                "device": port.device,
                "usb_id": f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None else None,
                "serial_number": port.serial_number,
                "description": port.description,
                "by_id": by_id.get(str(Path(port.device).resolve())),
            }
        )
    video_by_id = _links(Path("/dev/v4l/by-id"))
    for node in sorted(Path("/dev").glob("video*")):
        name_file = Path("/sys/class/video4linux") / node.name / "name"
        name = name_file.read_text().strip() if name_file.exists() else None
        out.append(
            {
                "kind": "video",
                "device": str(node),
                "name": name,
                "by_id": video_by_id.get(str(node.resolve())),
            }
        )
    return out


def _links(folder: Path) -> dict[str, str]:
    """Resolved target → symlink path, for udev's stable names."""
    if not folder.is_dir():
        return {}
    return {str(link.resolve()): str(link) for link in sorted(folder.iterdir())}


def main(argv: Sequence[str] | None = None) -> int:
    """Only the device commands (``python -m edge.cli_devices ...``), for a kiosk image
    that has the drivers but not the rest of the kiosk."""
    parser = argparse.ArgumentParser(prog="tempgate-kiosk")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
