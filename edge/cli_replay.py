"""``tempgate-kiosk replay FILE.npz [--config FILE] [--profile FILE] [--json]``.

Runs the full calibration pipeline over a thermal recording (``drivers.replay`` format): every
frame through ``calibration.fusion.process_frame``, frames grouped into passages, each passage
fused, estimated and decided. With ``--json``, one JSON object per passage per line with the
keys ``t_start_s, t_end_s, face_box, skin_face_max_c, skin_canthus_max_c, ambient_c,
distance_m, core_c, confidence, quality, decision``. Exit 2 on a bad file.
"""

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from calibration.blackbody import BlackbodyConfig
from calibration.decision import DecisionPolicy, decide_passage
from calibration.faces import FaceConfig
from calibration.fusion import (
    PassageEstimate,
    PipelineConfig,
    fuse_passage,
    process_frame,
    split_passages,
)
from calibration.profile_io import ProfileError, default_profile, load_profile
from calibration.quality import sorted_flags
from drivers.replay import Recording, RecordingError, load_recording
from edge.config import ConfigError, load_config

EXIT_OK = 0
EXIT_BAD_INPUT = 2

# Horizontal fields of view (degrees) of the supported cameras, to turn face width into
# distance. Unknown models leave distance unknown, which the shipped profile does not need.
HFOV_DEG = {"scene": 56.0, "tc001": 56.0, "lepton": 57.0, "gy-mcu90640": 55.0}


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``replay``."""
    replay = subparsers.add_parser(
        "replay", help="run the calibration pipeline over a recording, one result per passage"
    )
    replay.add_argument("recording", type=Path, metavar="FILE.npz", help="thermal recording")
    replay.add_argument("--config", type=Path, default=None, help="kiosk config (decision)")
    replay.add_argument(
        "--profile", type=Path, default=None, help="profile TOML (default: the shipped profile)"
    )
    replay.add_argument("--json", action="store_true", help="one JSON object per line")
    replay.set_defaults(handler=run_replay)


def _number(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 3) + 0.0


def passage_json(passage: PassageEstimate, decision: str) -> dict[str, object]:
    """The agreed JSON object of one passage (NaN becomes null)."""
    return {
        "t_start_s": round(passage.t_start_s, 3),
        "t_end_s": round(passage.t_end_s, 3),
        "face_box": passage.face_box.as_list() if passage.face_box is not None else None,
        "skin_face_max_c": _number(passage.skin_face_max_c),
        "skin_canthus_max_c": _number(passage.skin_canthus_max_c),
        "ambient_c": _number(passage.ambient_c),
        "distance_m": _number(passage.distance_m),
        "core_c": _number(passage.core_c),
        "confidence": round(passage.confidence, 3),
        "quality": sorted_flags(passage.quality),
        "decision": decision,
    }


def pipeline_for(recording: Recording) -> tuple[PipelineConfig, float]:
    """The pipeline configuration a recording's metadata implies, and its ambient ℃.

    Without a recorded ambient, the median of the first frame stands in: the frame is mostly
    background, and background sits at room temperature.
    """
    meta = recording.meta
    ambient_c = (
        meta.ambient_c if meta.ambient_c is not None else float(np.median(recording.frames_c[0]))
    )
    blackbody = None
    if meta.blackbody is not None:
        bb = meta.blackbody
        blackbody = BlackbodyConfig(bb.x, bb.y, bb.w, bb.h, set_c=bb.set_c)
    faces = FaceConfig(hfov_deg=HFOV_DEG.get(meta.camera_model))
    return PipelineConfig(faces=faces, blackbody=blackbody), ambient_c


def run_replay(args: argparse.Namespace) -> int:
    try:
        recording = load_recording(args.recording)
        profile = default_profile() if args.profile is None else load_profile(args.profile)
        policy = DecisionPolicy()
        if args.config is not None:
            section = load_config(args.config).decision
            policy = DecisionPolicy(
                threshold_c=section.threshold_c,
                plausible_low_c=section.plausible_low_c,
                plausible_high_c=section.plausible_high_c,
            )
    except (RecordingError, ProfileError, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    config, ambient_c = pipeline_for(recording)
    results = [
        process_frame(frame, float(t_s), ambient_c, config)
        for frame, t_s in zip(recording.frames_c, recording.t_s, strict=True)
    ]
    for indices in split_passages(results):
        passage = fuse_passage(
            [results[i] for i in indices], ambient_c=ambient_c, profile=profile, config=config
        )
        decision = decide_passage(passage, policy).value
        if args.json:
            print(json.dumps(passage_json(passage, decision)))
        else:
            print(
                f"{passage.t_start_s:7.2f}–{passage.t_end_s:7.2f} s  core {passage.core_c:5.2f} ℃ "
                f"± {passage.uncertainty_c:.2f}  confidence {passage.confidence:.2f}  "
                f"{decision:<13} {' '.join(sorted_flags(passage.quality))}"
            )
    return EXIT_OK
