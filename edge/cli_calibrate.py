"""``tempgate-kiosk calibrate``: fit a skin→core profile from reference pairs, or check one.

    tempgate-kiosk calibrate fit --pairs FILE.csv --out PROFILE.toml [--folds 10]
    tempgate-kiosk calibrate check --pairs FILE.csv [--profile PROFILE.toml]
                                   [--threshold 37.3] [--fever-ref 37.5] [--json]
    tempgate-kiosk calibrate ceiling --pairs FILE.csv [--specificity 0.90] [--fever-ref 37.5]
                                     [--folds 10] [--json]

Exit codes: 0 done, 2 bad input (the message names the file, row, column or key).
"""

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from calibration.ceiling import screening_ceiling
from calibration.core import CoreProfile, FitError, fit_profile, predict_core_c
from calibration.metrics import Agreement, agreement
from calibration.pairs import PairsError, ReferencePairs, parse_pairs
from calibration.profile_io import ProfileError, default_profile, load_profile, profile_to_toml
from edge import cli_replay

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add ``calibrate fit``, ``calibrate check`` and ``replay`` (``edge.cli_replay``)."""
    # replay is registered from here so that edge/cli.py lists one calibration module.
    cli_replay.register(subparsers)
    calibrate = subparsers.add_parser(
        "calibrate", help="fit or check a skin→core calibration profile from reference pairs"
    )
    actions = calibrate.add_subparsers(dest="calibrate_command", required=True, metavar="ACTION")

    fit = actions.add_parser("fit", help="fit a profile and report its cross-validated figures")
    fit.add_argument("--pairs", type=Path, required=True, help="reference-pairs CSV")
    fit.add_argument("--out", type=Path, required=True, help="profile TOML to write")
    fit.add_argument("--folds", type=int, default=10, help="cross-validation folds (default 10)")
    fit.add_argument("--name", default=None, help="profile name (default: the CSV's stem)")
    fit.add_argument("--threshold", type=float, default=37.3, help="screening threshold, ℃")
    fit.add_argument("--fever-ref", type=float, default=37.5, help="reference fever line, ℃")
    fit.set_defaults(handler=run_fit)

    check = actions.add_parser("check", help="apply a profile to reference pairs and score it")
    check.add_argument("--pairs", type=Path, required=True, help="reference-pairs CSV")
    check.add_argument(
        "--profile", type=Path, default=None, help="profile TOML (default: the shipped profile)"
    )
    check.add_argument("--threshold", type=float, default=37.3, help="screening threshold, ℃")
    check.add_argument("--fever-ref", type=float, default=37.5, help="reference fever line, ℃")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.set_defaults(handler=run_check)

    ceiling = actions.add_parser(
        "ceiling",
        help="the best sensitivity any linear rule on the pairs' features reaches at a "
        "specificity: what the data can support, before any profile is fitted",
    )
    ceiling.add_argument("--pairs", type=Path, required=True, help="reference-pairs CSV")
    ceiling.add_argument(
        "--specificity", type=float, default=0.90, help="required specificity (default 0.90)"
    )
    ceiling.add_argument("--fever-ref", type=float, default=37.5, help="reference fever line, ℃")
    ceiling.add_argument("--folds", type=int, default=10, help="cross-validation folds")
    ceiling.add_argument("--json", action="store_true", help="print one JSON object per line")
    ceiling.set_defaults(handler=run_ceiling)


def _read_pairs(path: Path) -> ReferencePairs:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PairsError(f"{path}: cannot read the pairs file: {error.strerror}") from None
    return parse_pairs(data, source=path.name)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _figures_text(figures: Agreement) -> str:
    low, high = figures.loa_c
    return (
        f"n={figures.n} (fevers {figures.n_fever}) MAE={figures.mae_c:.3f} ℃ "
        f"bias={figures.bias_c:+.3f} ℃ LoA95=[{low:+.3f}, {high:+.3f}] ℃ AUC={figures.auc:.3f}\n"
        f"estimate >= {figures.threshold_c:.2f} ℃ vs reference >= {figures.fever_ref_c:.2f} ℃: "
        f"sensitivity={figures.sensitivity:.3f} specificity={figures.specificity:.3f}\n"
        f"bias over the fevers alone: {figures.fever_bias_c:+.3f} ℃ (regression to the mean)"
    )


def run_fit(args: argparse.Namespace) -> int:
    try:
        pairs = _read_pairs(args.pairs)
        profile = fit_profile(
            pairs,
            name=args.name or args.pairs.stem,
            folds=args.folds,
            threshold_c=args.threshold,
            fever_ref_c=args.fever_ref,
        )
    except (PairsError, FitError) as error:
        return _fail(str(error))
    try:
        args.out.write_text(profile_to_toml(profile), encoding="utf-8")
    except OSError as error:
        return _fail(f"{args.out}: cannot write the profile: {error.strerror}")
    for candidate in profile.candidates:
        mark = "*" if candidate.features == profile.features else " "
        print(
            f"{mark} {' + '.join(candidate.features):60s} CV MAE {candidate.cv_mae_c:.4f} "
            f"± {candidate.cv_mae_se_c:.4f} ℃"
        )
    cv = profile.cv
    print(
        f"chosen (simplest within one SE of the best CV MAE): {' + '.join(profile.features)}\n"
        f"{cv.folds}-fold cross-validated: n={cv.n} MAE={cv.mae_c:.3f} ℃ bias={cv.bias_c:+.3f} ℃ "
        f"LoA95=[{cv.loa_c[0]:+.3f}, {cv.loa_c[1]:+.3f}] ℃ AUC={cv.auc:.3f} "
        f"sensitivity={cv.sensitivity:.3f} specificity={cv.specificity:.3f} "
        f"(estimate >= {cv.threshold_c:.2f} ℃ vs reference >= {cv.fever_ref_c:.2f} ℃)\n"
        f"wrote {args.out}"
    )
    return EXIT_OK


def check_profile(
    profile: CoreProfile, pairs: ReferencePairs, *, threshold_c: float, fever_ref_c: float
) -> Agreement:
    """Score a profile, unchanged, on reference pairs (rows it cannot score left out)."""
    estimate_c = predict_core_c(profile, pairs.features)
    # Rows without a reference, or without the skin feature the profile needs, say nothing.
    usable = ~np.isnan(pairs.reference_c) & ~np.isnan(estimate_c)
    if int(usable.sum()) < 2:
        raise PairsError(
            f"{pairs.source}: fewer than 2 rows have both reference_c and the profile's "
            f"features ({', '.join(profile.features)})"
        )
    return agreement(
        estimate_c[usable],
        pairs.reference_c[usable],
        threshold_c=threshold_c,
        fever_ref_c=fever_ref_c,
    )


def _json_number(value: float) -> float | None:
    # JSON has no NaN: an undefined figure (e.g. AUC without any fever in the file) is null.
    return None if math.isnan(value) else round(value, 4) + 0.0  # + 0.0: no "-0.0"


def run_check(args: argparse.Namespace) -> int:
    try:
        profile = default_profile() if args.profile is None else load_profile(args.profile)
        pairs = _read_pairs(args.pairs)
        figures = check_profile(
            profile, pairs, threshold_c=args.threshold, fever_ref_c=args.fever_ref
        )
    except (PairsError, ProfileError) as error:
        return _fail(str(error))
    if args.json:
        print(
            json.dumps(
                {
                    "n": figures.n,
                    "mae_c": _json_number(figures.mae_c),
                    "bias_c": _json_number(figures.bias_c),
                    "loa_c": [_json_number(figures.loa_c[0]), _json_number(figures.loa_c[1])],
                    "auc": _json_number(figures.auc),
                    "sensitivity": _json_number(figures.sensitivity),
                    "specificity": _json_number(figures.specificity),
                    "threshold_c": figures.threshold_c,
                    "fever_ref_c": figures.fever_ref_c,
                }
            )
        )
    else:
        print(f"profile {profile.name} v{profile.version} on {pairs.source}")
        print(_figures_text(figures))
    return EXIT_OK


def run_ceiling(args: argparse.Namespace) -> int:
    try:
        pairs = _read_pairs(args.pairs)
        ceilings = screening_ceiling(
            pairs, fever_ref_c=args.fever_ref, specificity_min=args.specificity, folds=args.folds
        )
    except (PairsError, ValueError) as error:
        return _fail(str(error))
    if not args.json:
        print(
            f"{pairs.source}: {args.folds}-fold cross-validated logistic scores of reference >= "
            f"{args.fever_ref:.2f} ℃, threshold chosen in hindsight at specificity >= "
            f"{args.specificity:.2f} (optimistic: no fitted profile does better)"
        )
    for item in ceilings:
        if args.json:
            print(
                json.dumps(
                    {
                        "features": list(item.features),
                        "auc": _json_number(item.auc),
                        "sensitivity": _json_number(item.sensitivity),
                        "specificity": _json_number(item.specificity),
                        "specificity_min": args.specificity,
                        "fever_ref_c": args.fever_ref,
                    }
                )
            )
        else:
            print(
                f"  {' + '.join(item.features):60s} AUC {item.auc:.3f}  sensitivity "
                f"{item.sensitivity:.3f} at specificity {item.specificity:.3f}"
            )
    return EXIT_OK
