"""Frames to files and back: CSV, Parquet and Excel, written atomically. (What else a
snapshot folder holds, its metadata and roster, is ``snapshot.py``'s.)

Every file is written beside its target and renamed into place, so a crash never
leaves a half-written file. No text becomes a formula in a spreadsheet: in CSV, text
that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or with ``'``)
gets a ``'`` in front, which reading back removes; in Excel every text cell is text.
Read back, every column gets its dtype again. CSV keeps a
missing value apart from an empty string the way PostgreSQL's CSV does (empty strings
quoted, missing values unquoted) when pyarrow is installed; without it both read back
as missing. Parquet keeps everything exactly.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import schema

__all__ = [
    "FORMATS",
    "atomic_path",
    "ensure_folder",
    "read_csv_frame",
    "read_frame",
    "read_frames",
    "spreadsheet_restored",
    "spreadsheet_safe",
    "stream_frames",
    "write_csv",
    "write_excel",
    "write_frames",
]

NA = "\\N"  # the NA marker of the resume parts: "" stays an empty string without pyarrow
FORMATS = ("csv", "parquet")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces it only if the block succeeds."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets run as a formula
QUOTE = "'"  # prefixed to such text in CSV (and to text that starts with it)


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell that a spreadsheet would run as a formula prefixed
    with ``'`` (as is text that already starts with ``'``, so that it reverses)."""
    return _map_text(df, _escape)


def spreadsheet_restored(df: pd.DataFrame) -> pd.DataFrame:
    """The exact text again: the reverse of :func:`spreadsheet_safe`."""
    return _map_text(df, _unescape)


def _map_text(df: pd.DataFrame, how: Any) -> pd.DataFrame:
    text = [c for c in df.columns if _is_text(df[c])]
    return df.assign(**{c: how(df[c]) for c in text}) if text else df


def _is_text(column: pd.Series) -> bool:
    if isinstance(column.dtype, pd.StringDtype):
        return True
    return column.dtype == np.dtype(object) and pd.api.types.infer_dtype(column) == "string"


def _escape(column: pd.Series) -> pd.Series:
    hit = column.str.startswith((*FORMULA_STARTS, QUOTE), na=False).astype(bool)
    return column.where(~hit, QUOTE + column) if hit.any() else column


def _unescape(column: pd.Series) -> pd.Series:
    hit = column.str.startswith(QUOTE, na=False).astype(bool)
    return column.where(~hit, column.str.slice(1)) if hit.any() else column


def write_csv(df: pd.DataFrame, path: str | Path, na_rep: str = "") -> Path:
    """Write ``df`` as UTF-8 CSV (no index, ISO timestamps, spreadsheet-safe text)
    atomically; the path written."""
    with atomic_path(path) as tmp:
        _pandas_csv(df, tmp, na_rep)
    return Path(path)


def _pandas_csv(df: pd.DataFrame, path: Path, na_rep: str = "", header: bool = True) -> None:
    """CSV through pandas, spreadsheet-safe (appended when ``header`` is False). Lines end
    in CRLF (RFC 4180), so that the csv module quotes a field holding a lone carriage
    return instead of splitting it."""
    spreadsheet_safe(df).to_csv(
        path,
        index=False,
        date_format="%Y-%m-%dT%H:%M:%S.%fZ",
        na_rep=na_rep,
        lineterminator="\r\n",
        header=header,
        mode="w" if header else "a",
    )


def read_csv_frame(path: str | Path, name: str, na: str = NA) -> pd.DataFrame:
    """A CSV written with ``na_rep=na`` read back with the frame's exact dtypes."""
    frame_schema = schema.SCHEMAS[name]
    text: dict[str, Any] = {
        c: schema.STRING
        for c, dtype in frame_schema.items()
        if dtype in (schema.STRING, schema.UTC, schema.KIND)
    }
    typed = {
        c: str(dtype) for c, dtype in frame_schema.items() if dtype in (schema.BOOLEAN, schema.INT)
    }
    raw = pd.read_csv(path, dtype={**text, **typed}, keep_default_na=False, na_values=[na])
    return schema.apply_dtypes(frame_schema, spreadsheet_restored(raw))


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.csv
    except ImportError:
        return None
    return pyarrow


def _for_arrow(df: pd.DataFrame) -> pd.DataFrame:
    kinds = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    return df.astype({c: schema.STRING for c in kinds})


def _write_one(df: pd.DataFrame, path: Path, fmt: str) -> None:
    pa = _pyarrow()
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            if pa is None:
                raise ImportError("Parquet needs pyarrow: pip install 'cronofy-frames[parquet]'")
            df.to_parquet(tmp, index=False)
        elif pa is not None:
            table = pa.Table.from_pandas(spreadsheet_safe(_for_arrow(df)), preserve_index=False)
            pa.csv.write_csv(table, tmp)
        else:
            _pandas_csv(df, tmp)


def write_frames(
    frames: dict[str, pd.DataFrame], directory: str | Path, fmt: str = "csv"
) -> list[Path]:
    """Write ``{name}.{fmt}`` per frame into ``directory``; the paths."""
    folder = _folder_for(directory, fmt)
    paths = []
    for name, df in frames.items():
        _write_one(df, folder / f"{name}.{fmt}", fmt)
        paths.append(folder / f"{name}.{fmt}")
    return paths


def stream_frames(
    chunks: Mapping[str, Iterable[pd.DataFrame]], directory: str | Path, fmt: str = "csv"
) -> list[Path]:
    """Like :func:`write_frames`, but each frame arrives as chunks that are written one
    after another (pyarrow's streaming writers), so memory is bounded by one chunk."""
    folder = _folder_for(directory, fmt)
    paths = []
    for name, frames in chunks.items():
        path = folder / f"{name}.{fmt}"
        with atomic_path(path) as tmp:
            _stream_one(frames, name, tmp, fmt)
        paths.append(path)
    return paths


def _folder_for(directory: str | Path, fmt: str) -> Path:
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    return ensure_folder(directory)


def _stream_one(frames: Iterable[pd.DataFrame], name: str, path: Path, fmt: str) -> None:
    pa = _pyarrow()
    if pa is None:  # CSV through pandas, appended chunk by chunk
        if fmt == "parquet":
            raise ImportError("Parquet needs pyarrow: pip install 'cronofy-frames[parquet]'")
        _pandas_csv(schema.empty(schema.SCHEMAS[name]), path)
        for frame in frames:
            _pandas_csv(frame, path, header=False)
        return
    import pyarrow.parquet as pq

    arrow = pa.schema([(c, _arrow_type(pa, t)) for c, t in schema.SCHEMAS[name].items()])
    open_writer = pq.ParquetWriter if fmt == "parquet" else pa.csv.CSVWriter
    with open_writer(str(path), arrow) as writer:
        for frame in frames:
            ready = _for_arrow(frame) if fmt == "parquet" else spreadsheet_safe(_for_arrow(frame))
            writer.write_table(pa.Table.from_pandas(ready, schema=arrow, preserve_index=False))


def ensure_folder(directory: str | Path) -> Path:
    """The folder, created if missing; OSError naming it if it cannot be."""
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot create output folder {str(folder)!r}: {exc.strerror}") from None
    return folder


def read_frames(directory: str | Path, fmt: str) -> dict[str, pd.DataFrame]:
    """The frames written by :func:`write_frames` as ``fmt``, with exact dtypes (a
    missing file is an empty frame)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    folder = Path(directory)
    return {name: read_frame(folder / f"{name}.{fmt}", name, fmt) for name in schema.FRAMES}


def read_frame(path: Path, name: str, fmt: str) -> pd.DataFrame:
    """One frame of a snapshot folder as written by :func:`write_frames`, with exact
    dtypes (an empty frame when the file is missing)."""
    frame_schema = schema.SCHEMAS[name]
    if not path.exists():
        return schema.empty(frame_schema)
    if fmt == "parquet":
        return schema.apply_dtypes(frame_schema, pd.read_parquet(path))
    pa = _pyarrow()
    if pa is None:
        return read_csv_frame(path, name, na="")  # blank and missing alike
    return schema.apply_dtypes(
        frame_schema, spreadsheet_restored(_arrow_csv(pa, path, frame_schema))
    )


def _arrow_csv(pa: Any, path: Path, frame_schema: schema.Schema) -> pd.DataFrame:
    types = {c: _arrow_type(pa, dtype) for c, dtype in frame_schema.items()}
    options = pa.csv.ConvertOptions(
        column_types=types,
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        null_values=[""],
    )
    table = pa.csv.read_csv(path, convert_options=options)
    frame: pd.DataFrame = table.to_pandas(types_mapper={pa.string(): schema.STRING}.get)
    return frame


def _arrow_type(pa: Any, dtype: Any) -> Any:
    if dtype is schema.BOOLEAN:
        return pa.bool_()
    if dtype is schema.INT:
        return pa.int64()
    if dtype is schema.UTC:
        return pa.timestamp("ns", tz="UTC")
    return pa.string()


def write_excel(frames: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """One sheet per frame, through openpyxl's write-only mode (needs the ``excel`` extra).

    A workbook is for people: it is not read back (``read_snapshot`` reads the CSV and
    Parquet folders, which keep every dtype and value).

    Every text cell is stored as text (an inline string), never as a formula, and
    exactly: characters XML cannot hold are written as OOXML ``_xHHHH_`` escapes, which
    Excel and LibreOffice turn back into the character. Times are UTC without a zone,
    to the millisecond, as Excel keeps them.
    """
    try:
        from openpyxl import Workbook
    except ImportError:
        raise ImportError("Excel needs openpyxl: pip install 'cronofy-frames[excel]'") from None
    target = Path(path)
    ensure_folder(target.parent)
    book = Workbook(write_only=True)
    for name, df in frames.items():
        sheet = book.create_sheet(name)
        sheet.append([str(c) for c in df.columns])
        for row in _naive(df).astype(object).itertuples(index=False, name=None):
            sheet.append([_excel_cell(sheet, value) for value in row])
    with atomic_path(target) as tmp:
        book.save(tmp)
    return target


_XML_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")


def _excel_cell(sheet: Any, value: object) -> object:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if not isinstance(value, str) or not (value.startswith("=") or _XML_UNSAFE.search(value)):
        return value  # openpyxl stores such a string as text already
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=_XML_UNSAFE.sub(_ooxml_escape, value))
    cell.data_type = "s"  # text, even when it starts with "="
    return cell


def _ooxml_escape(match: re.Match[str]) -> str:
    return f"_x{ord(match.group(0)):04X}_"


def _naive(df: pd.DataFrame) -> pd.DataFrame:
    zoned = [c for c in df.columns if isinstance(df[c].dtype, pd.DatetimeTZDtype)]
    return df.assign(**{c: df[c].dt.tz_localize(None) for c in zoned})
