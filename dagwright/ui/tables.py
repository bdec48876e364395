"""The first rows of a dataset for its preview: CSV through the ``csv`` module, parquet through
pyarrow (when installed). Both stream: a large file is never read whole; its row count is
given when the file says it cheaply (parquet's footer) or is small enough to count (CSV).
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from dagwright.ui.reading import ArtifactFile, Unreadable

ROWS = 20
# a CSV file up to this size has its rows counted; past it the total is left unknown
COUNT_LIMIT = 1 << 20
# a cell or header as shown at most (a CSV with one enormous field is still previewed)
MAX_CELL = 1000
MAX_COLUMNS = 200
PARQUET_MAGIC = b"PAR1"
_SNIFF = 8192


def cell(value: Any) -> Any:
    """A value as JSON can carry it: numbers that JSON cannot hold (NaN, inf), bytes, dates and
    anything else as text, cut at MAX_CELL characters."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL] + "…"


def csv_preview(file: ArtifactFile, relative: str = "") -> dict[str, Any]:
    """The header and first rows of a CSV file (the delimiter sniffed from its start).

    Raises:
        csv.Error, UnicodeDecodeError: for a malformed file (the caller reports them).
    """
    head = file.head(_SNIFF, relative).decode("utf-8", errors="ignore")
    try:
        dialect: Any = csv.Sniffer().sniff(head, delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:  # one column, or too little to tell
        delimiter = ","
    with file.open(relative) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        header = next(reader, None)
        if header is None:
            return {"kind": "dataset", "columns": [], "rows": [], "total_rows": 0}
        rows: list[list[Any]] = []
        if not _has_header(header):  # numbers only (np.savetxt): the first row is data
            rows.append([cell(v) for v in header[:MAX_COLUMNS]])
            header = [f"column {i + 1}" for i in range(len(header))]
        for row in reader:
            if len(rows) == ROWS:
                total = _count(file, relative, reader, ROWS + 1)
                break
            rows.append([cell(v) for v in row[:MAX_COLUMNS]])
        else:
            total = len(rows)
    return {
        "kind": "dataset",
        "format": "csv",
        "columns": [cell(c) for c in header[:MAX_COLUMNS]],
        "rows": rows,
        "total_rows": total,
    }


def _has_header(first: list[str]) -> bool:
    """Whether the first row names the columns: yes, unless every cell of it is a number (a
    file written by ``np.savetxt``). The csv module's own guess is not used: it takes the
    header of a file of text columns for data."""
    return not all(_number(v) for v in first)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _count(file: ArtifactFile, relative: str, reader: Any, seen: int) -> int | None:
    """The number of data rows, counted on only when the file is small."""
    size = file.size() if not relative else dict(file.files(limit=None)).get(relative, 0)
    if size > COUNT_LIMIT:
        return None
    return seen + sum(1 for _ in reader)


def parquet_preview(file: ArtifactFile, relatives: list[str]) -> dict[str, Any]:
    """The first rows of a parquet file, or of a folder of parquet part files (Spark's), and
    the row count from their footers.

    Raises:
        Unreadable: when pyarrow is not installed.
    """
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise Unreadable(
            "previewing parquet needs pyarrow, which is not installed: pip install pyarrow"
        ) from None
    columns: list[str] = []
    rows: list[list[Any]] = []
    total = 0
    for relative in relatives:
        with file.open(relative) as stream:
            parquet = pq.ParquetFile(stream)
            total += parquet.metadata.num_rows
            names = [str(c) for c in parquet.schema_arrow.names]
            columns = columns or names[:MAX_COLUMNS]
            if len(rows) < ROWS and parquet.metadata.num_rows:
                wanted = ROWS - len(rows)
                # read by position: a file may repeat a column name
                chosen = list(range(min(len(names), MAX_COLUMNS)))
                batch = next(parquet.iter_batches(batch_size=wanted))
                values = [batch.column(i).to_pylist()[:wanted] for i in chosen]
                rows.extend([cell(v) for v in row] for row in zip(*values, strict=True))
    return {
        "kind": "dataset",
        "format": "parquet",
        "columns": [cell(c) for c in columns],
        "rows": rows,
        "total_rows": total,
    }
