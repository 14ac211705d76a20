"""Reference pairs: skin features measured by a device beside a reference (oral) temperature.

The CSV format (the one of ``flir_pairs.csv``) has the columns ``skin_face_max_c,
skin_canthus_max_c, ambient_c, distance_m, reference_c``; other columns are ignored and an empty
cell means unknown. Parsing takes the file's bytes, not a path: the caller reads the file.
"""

import csv
import hashlib
import io
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

FEATURE_COLUMNS = ("skin_face_max_c", "skin_canthus_max_c", "ambient_c", "distance_m")
REFERENCE_COLUMN = "reference_c"
REQUIRED_COLUMNS = (*FEATURE_COLUMNS, REFERENCE_COLUMN)


class PairsError(ValueError):
    """A reference-pairs file that cannot be used; the message names the row and column."""


@dataclass(frozen=True)
class ReferencePairs:
    """Columns as float arrays of equal length; NaN where the cell was empty (unknown).

    ``features`` is (n, 4) in the order of ``FEATURE_COLUMNS``. ``sha256`` is of the source text,
    so a profile records exactly which data it was fitted on (the same as ``sha256sum``).
    """

    source: str
    sha256: str
    features: FloatArray
    reference_c: FloatArray

    @property
    def n(self) -> int:
        return int(self.reference_c.size)

    def column(self, name: str) -> FloatArray:
        """One feature column by name."""
        return self.features[:, FEATURE_COLUMNS.index(name)]


def _cell(value: str, *, source: str, row: int, column: str) -> float:
    text = value.strip()
    if text == "":
        return math.nan
    try:
        number = float(text)
    except ValueError:
        raise PairsError(
            f"{source}: row {row}, column {column!r}: {text!r} is not a number; "
            "write a decimal number in ℃ (or metres for distance_m), or leave the cell empty"
        ) from None
    if not math.isfinite(number):
        raise PairsError(f"{source}: row {row}, column {column!r}: {text!r} is not finite")
    return number


def parse_pairs(data: bytes, *, source: str = "pairs.csv") -> ReferencePairs:
    """Parse reference pairs from the bytes of a CSV file (UTF-8, optional BOM, any line ends).

    Rows are numbered as a spreadsheet shows them (the header is row 1). Rows without a
    reference are kept (NaN) and left out of fits.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PairsError(
            f"{source}: not UTF-8 text (byte {error.start}); save the file as UTF-8 CSV"
        ) from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames
    if header is None:
        raise PairsError(f"{source}: the file is empty; expected a header with {REQUIRED_COLUMNS}")
    present = {name.strip() for name in header}
    missing = [name for name in REQUIRED_COLUMNS if name not in present]
    if missing:
        raise PairsError(
            f"{source}: missing column(s) {', '.join(missing)}; the header has "
            f"{', '.join(name.strip() for name in header)}. "
            f"A reference-pairs file needs {', '.join(REQUIRED_COLUMNS)}"
        )
    rows: list[list[float]] = []
    for index, record in enumerate(reader):
        row_number = index + 2
        values: list[float] = []
        stripped = {(key or "").strip(): value for key, value in record.items()}
        for name in REQUIRED_COLUMNS:
            value = stripped.get(name)
            if value is None:
                raise PairsError(
                    f"{source}: row {row_number}, column {name!r}: the row is too short "
                    f"({len([v for v in record.values() if v is not None])} cells)"
                )
            values.append(_cell(value, source=source, row=row_number, column=name))
        rows.append(values)
    if not rows:
        raise PairsError(f"{source}: no data rows after the header")
    table = np.asarray(rows, dtype=np.float64)
    return ReferencePairs(
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
        features=table[:, : len(FEATURE_COLUMNS)],
        reference_c=table[:, len(FEATURE_COLUMNS)],
    )
