"""Profile files: the only place in ``calibration`` that touches files.

A profile is a versioned TOML file (``format = 1``) holding a ``CoreProfile``: its coefficients,
the data it was fitted on (file, sha256, n) and its cross-validated figures. The default
profile ships in the package (``calibration/profiles/default.toml``).
"""

import math
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from calibration.core import (
    PROFILE_FORMAT,
    Candidate,
    CoreProfile,
    CrossValidation,
    FittedOn,
)

DEFAULT_PROFILE = "default.toml"


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names the file and the key."""


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to a profile")


def _table(name: str, pairs: dict[str, object]) -> str:
    lines = [f"[{name}]"] + [f"{key} = {_toml_value(value)}" for key, value in pairs.items()]
    return "\n".join(lines) + "\n"


def profile_to_toml(profile: CoreProfile) -> str:
    """The profile as TOML text (what ``calibrate fit --out`` writes)."""
    head = (
        "# tempgate calibration profile: skin features → core temperature (℃).\n"
        "# core_c = intercept_c + Σ coefficients[i] · features[i]; unknown → fill_values[i].\n"
        f"format = {profile.format}\n"
        f"name = {_toml_value(profile.name)}\n"
        f"version = {profile.version}\n"
        f"method = {_toml_value(profile.method)}\n"
    )
    model = _table(
        "model",
        {
            "features": profile.features,
            "intercept_c": profile.intercept_c,
            "coefficients": profile.coefficients,
            "fill_values": profile.fill_values,
            "feature_ranges": profile.feature_ranges,
            "residual_sd_c": profile.residual_sd_c,
        },
    )
    fitted_on = _table(
        "fitted_on",
        {
            "file": profile.fitted_on.file,
            "sha256": profile.fitted_on.sha256,
            "n": profile.fitted_on.n,
        },
    )
    cv = profile.cv
    cv_table = _table(
        "cv",
        {
            "folds": cv.folds,
            "seed": cv.seed,
            "n": cv.n,
            "mae_c": cv.mae_c,
            "bias_c": cv.bias_c,
            "loa_c": cv.loa_c,
            "auc": cv.auc,
            "sensitivity": cv.sensitivity,
            "specificity": cv.specificity,
            "threshold_c": cv.threshold_c,
            "fever_ref_c": cv.fever_ref_c,
        },
    )
    candidates = "".join(
        "\n[[candidates]]\n"
        f"features = {_toml_value(c.features)}\n"
        f"cv_mae_c = {_toml_value(c.cv_mae_c)}\n"
        f"cv_mae_se_c = {_toml_value(c.cv_mae_se_c)}\n"
        for c in profile.candidates
    )
    return "\n".join([head, model, fitted_on, cv_table]) + candidates


class _Reader:
    """Typed access to a parsed TOML document; every error names the source and the key."""

    def __init__(self, source: str, document: dict[str, Any]) -> None:
        self.source = source
        self.document = document

    def _get(self, path: str) -> object:
        node: object = self.document
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ProfileError(
                    f"{self.source}: {path}: missing; re-create the profile with "
                    "'tempgate-kiosk calibrate fit'"
                )
            node = node[part]
        return node

    def _fail(self, path: str, expected: str, value: object) -> ProfileError:
        return ProfileError(f"{self.source}: {path}: expected {expected}, got {value!r}")

    def string(self, path: str) -> str:
        value = self._get(path)
        if not isinstance(value, str):
            raise self._fail(path, "a string", value)
        return value

    def integer(self, path: str) -> int:
        value = self._get(path)
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._fail(path, "an integer", value)
        return value

    def number(self, path: str, value: object = None) -> float:
        value = self._get(path) if value is None else value
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self._fail(path, "a number", value)
        return float(value)

    def numbers(self, path: str) -> tuple[float, ...]:
        value = self._get(path)
        if not isinstance(value, list):
            raise self._fail(path, "a list of numbers", value)
        return tuple(self.number(f"{path}[{i}]", item) for i, item in enumerate(value))

    def strings(self, path: str, value: object = None) -> tuple[str, ...]:
        value = self._get(path) if value is None else value
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self._fail(path, "a list of strings", value)
        return tuple(value)

    def ranges(self, path: str) -> tuple[tuple[float, float], ...]:
        value = self._get(path)
        if not isinstance(value, list) or not all(
            isinstance(item, list) and len(item) == 2 for item in value
        ):
            raise self._fail(path, "a list of [low, high] pairs", value)
        return tuple(
            (self.number(f"{path}[{i}][0]", lo), self.number(f"{path}[{i}][1]", hi))
            for i, (lo, hi) in enumerate(value)
        )


def _pair(values: tuple[float, ...], source: str, path: str) -> tuple[float, float]:
    if len(values) != 2:
        raise ProfileError(f"{source}: {path}: expected [low, high], got {list(values)}")
    return values[0], values[1]


def profile_from_toml(text: str, *, source: str) -> CoreProfile:
    """Parse a profile from TOML text; ``ProfileError`` names the key that is wrong."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{source}: not valid TOML: {error}") from None
    read = _Reader(source, document)
    file_format = read.integer("format")
    if file_format != PROFILE_FORMAT:
        raise ProfileError(
            f"{source}: format: this tempgate reads profile format {PROFILE_FORMAT}, the file is "
            f"format {file_format}; re-fit it with this version's 'calibrate fit'"
        )
    raw_candidates = document.get("candidates", [])
    if not isinstance(raw_candidates, list):
        raise ProfileError(f"{source}: candidates: expected an array of tables")
    candidates = []
    for i, item in enumerate(raw_candidates):
        if not isinstance(item, dict):
            raise ProfileError(f"{source}: candidates[{i}]: expected a table")
        candidates.append(
            Candidate(
                features=read.strings(f"candidates[{i}].features", item.get("features")),
                cv_mae_c=read.number(f"candidates[{i}].cv_mae_c", item.get("cv_mae_c")),
                cv_mae_se_c=read.number(f"candidates[{i}].cv_mae_se_c", item.get("cv_mae_se_c")),
            )
        )
    try:
        return CoreProfile(
            name=read.string("name"),
            version=read.integer("version"),
            method=read.string("method"),
            features=read.strings("model.features"),
            intercept_c=read.number("model.intercept_c"),
            coefficients=read.numbers("model.coefficients"),
            fill_values=read.numbers("model.fill_values"),
            feature_ranges=read.ranges("model.feature_ranges"),
            residual_sd_c=read.number("model.residual_sd_c"),
            fitted_on=FittedOn(
                file=read.string("fitted_on.file"),
                sha256=read.string("fitted_on.sha256"),
                n=read.integer("fitted_on.n"),
            ),
            cv=CrossValidation(
                folds=read.integer("cv.folds"),
                seed=read.integer("cv.seed"),
                n=read.integer("cv.n"),
                mae_c=read.number("cv.mae_c"),
                bias_c=read.number("cv.bias_c"),
                loa_c=_pair(read.numbers("cv.loa_c"), source, "cv.loa_c"),
                auc=read.number("cv.auc"),
                sensitivity=read.number("cv.sensitivity"),
                specificity=read.number("cv.specificity"),
                threshold_c=read.number("cv.threshold_c"),
                fever_ref_c=read.number("cv.fever_ref_c"),
            ),
            candidates=tuple(candidates),
        )
    except ValueError as error:
        if isinstance(error, ProfileError):
            raise
        raise ProfileError(f"{source}: model: {error}") from None


def load_profile(path: Path) -> CoreProfile:
    """Read a profile file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ProfileError(f"{path}: cannot read the profile: {error.strerror}") from None
    return profile_from_toml(text, source=str(path))


def default_profile() -> CoreProfile:
    """The profile shipped with the package, fitted on the FDA/UMD FLIR reference pairs."""
    resource = resources.files("calibration").joinpath("profiles", DEFAULT_PROFILE)
    return profile_from_toml(
        resource.read_text(encoding="utf-8"), source=f"calibration/profiles/{DEFAULT_PROFILE}"
    )
