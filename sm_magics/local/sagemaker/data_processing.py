"""Batch transform's ``DataProcessing``: filter the input, join it with the predictions, filter the result.

SageMaker applies it record by record (``SplitType`` Line, or one JSON
document with ``SplitType`` None):

1. ``InputFilter`` picks what the model sees: columns of a CSV row (each row
   taken as an array of fields), or part of a JSON value.
2. ``JoinSource`` Input joins each prediction with its *original* (unfiltered)
   record: for CSV, the record's fields followed by the prediction's; for
   JSON, the record object with the prediction added under
   ``SageMakerOutput``, or, when the record is not an object,
   ``{"SageMakerInput": record, "SageMakerOutput": prediction}``.
3. ``OutputFilter`` picks what is written from the joined record (or from the
   prediction alone without a join).

What SageMaker refuses is refused at CreateTransformJob (:meth:`DataProcessing.from_request`),
so a job never starts with a filter it cannot apply. CSV work is done per
object on whole columns: the positions a path picks are resolved once for
the object's row width, and rows are split and rejoined with C-level
``bytes`` / ``csv`` operations (the ``csv`` module only where a field is quoted).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from dataclasses import dataclass
from typing import Any, Callable

from .exceptions import ValidationException
from .jsonpath import JsonPath, JsonPathError, SelectionError

CSV, JSON, JSONLINES = "csv", "json", "jsonlines"
FORMATS = {
    "text/csv": CSV,
    "application/json": JSON,
    "application/jsonlines": JSONLINES,
    "application/x-jsonlines": JSONLINES,
}
MEDIA = {CSV: "text/csv", JSON: "application/json", JSONLINES: "application/jsonlines"}


class RecordError(ValueError):
    """A record or a model answer that the job's DataProcessing cannot be applied to (the job fails)."""


def data_format(media: str | None) -> str | None:
    """'text/csv; charset=utf-8' -> 'csv'; None for media types DataProcessing does not read."""
    return FORMATS.get((media or "").split(";", 1)[0].strip().lower())


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


# ----------------------------------------------------------------------------- CSV tables


@dataclass
class Table:
    """CSV records as columns of fields, all rows of one width.

    Unquoted data (the common, numeric case) is split with one ``bytes.split``
    over the whole object, its columns are strided slices of that flat list and
    rows are rejoined with ``map(b",".join, zip(*columns))``, so no Python code
    runs per row; data with a quoted field goes through the ``csv`` module and
    is written back with its quoting. ``quoted`` says which.
    """

    columns: list[list[bytes]]
    rows: int
    quoted: bool

    @classmethod
    def parse(cls, records: list[bytes], what: str) -> "Table":
        joined = b",".join(records)
        if b'"' in joined:
            text = [record.decode("utf-8") for record in records]
            rows = [[field.encode("utf-8") for field in row] for row in csv.reader(text)]
            cls._check(list(map(len, rows)), 0, what)
            return cls([list(column) for column in zip(*rows)], len(rows), True)
        if b"," not in joined:  # one field a record (a prediction line, typically)
            return cls([list(records)] if records else [], len(records), False)
        commas = list(map(bytes.count, records, itertools.repeat(b",")))
        cls._check(commas, 1, what)
        width = commas[0] + 1
        flat = joined.split(b",")
        return cls([flat[j::width] for j in range(width)], len(records), False)

    @staticmethod
    def _check(counts: list[int], plus: int, what: str) -> None:
        """Every row has as many fields as the first (``counts`` + ``plus`` fields each)."""
        if len(set(counts)) > 1:
            at = next(i for i, count in enumerate(counts) if count != counts[0])
            raise RecordError(f"{what} {at + 1} has {counts[at] + plus} field(s) where the first has {counts[0] + plus}")

    @property
    def width(self) -> int:
        return len(self.columns)

    def select(self, path: JsonPath) -> "Table":
        """The columns at ``path``'s positions, in the order the path names them."""
        try:
            positions = path.columns(self.width)
        except SelectionError as exc:
            raise RecordError(f"{path.text}: {exc}") from None
        if positions is None:
            return self
        return Table([self.columns[p] for p in positions], self.rows, self.quoted)

    def beside(self, other: "Table") -> "Table":
        """This table's columns followed by ``other``'s (a joined record: input fields, then prediction fields)."""
        return Table(self.columns + other.columns, self.rows, self.quoted or other.quoted)

    def records(self) -> list[bytes]:
        """The rows as CSV records, without line endings."""
        if self.quoted:
            buffer = io.StringIO()
            rows = ([field.decode("utf-8") for field in row] for row in zip(*self.columns))
            csv.writer(buffer, lineterminator="\n").writerows(rows)
            return [line.encode("utf-8") for line in buffer.getvalue().split("\n")[:-1]]
        if len(self.columns) == 1:
            return list(self.columns[0])
        if not self.columns:
            return [b""] * self.rows
        return list(map(b",".join, zip(*self.columns)))


# ----------------------------------------------------------------------------- the job's settings


@dataclass(frozen=True)
class DataProcessing:
    """A job's parsed ``DataProcessing`` with the formats it reads and writes."""

    input_filter: JsonPath
    output_filter: JsonPath
    join: bool
    input_format: str
    output_format: str | None  # TransformOutput.Accept's, when DataProcessing reads it

    @classmethod
    def from_request(cls, request: dict[str, Any] | None, transform_input: dict[str, Any], accept: str | None) -> "DataProcessing | None":
        """The job's DataProcessing; None when it changes nothing; ValidationException for what SageMaker refuses."""
        request = request or {}
        paths = {}
        for field in ("InputFilter", "OutputFilter"):
            try:
                paths[field] = JsonPath.parse(request.get(field) or "$")
            except JsonPathError as exc:
                raise ValidationException(f"{exc} (DataProcessing.{field})") from None
        join = request.get("JoinSource", "None") == "Input"
        if paths["InputFilter"].is_root and paths["OutputFilter"].is_root and not join:
            return None
        content_type = transform_input.get("ContentType")
        input_format = data_format(content_type)
        if input_format is None:
            raise ValidationException(
                "DataProcessing (InputFilter, JoinSource, OutputFilter) applies to text/csv, application/json and "
                f"application/jsonlines input only; TransformInput.ContentType is {content_type or 'not set'}"
            )
        split = transform_input.get("SplitType", "None")
        if input_format in (CSV, JSONLINES) and split != "Line":
            raise ValidationException(
                f"For {MEDIA[input_format]} input, DataProcessing needs TransformInput.SplitType Line (it is {split})"
            )
        if input_format == JSON and split not in ("Line", "None"):
            raise ValidationException(f"For application/json input, DataProcessing needs TransformInput.SplitType Line or None (it is {split})")
        output_format = data_format(accept)
        if join:
            family = {CSV: (CSV,), JSON: (JSON, JSONLINES), JSONLINES: (JSON, JSONLINES)}[input_format]
            if output_format not in family:
                wanted = "text/csv" if input_format == CSV else "application/json or application/jsonlines"
                raise ValidationException(
                    f"JoinSource Input joins each prediction with its {MEDIA[input_format]} record, so TransformOutput.Accept "
                    f"must be {wanted} (it is {accept or 'not set'})"
                )
        joined_format = input_format if join else output_format
        if not paths["OutputFilter"].is_root and joined_format is None:
            raise ValidationException(
                "OutputFilter selects from predictions in text/csv, application/json or application/jsonlines; "
                f"set TransformOutput.Accept to one of them (it is {accept or 'not set'})"
            )
        for field, fmt in (("InputFilter", input_format), ("OutputFilter", joined_format)):
            if fmt == CSV and not paths[field].index_based:
                raise ValidationException(
                    f"Invalid JsonPath: {paths[field].text}: text/csv records are arrays of fields, so only index-based "
                    f"JSONPaths apply, e.g. $[0], $[1:] (DataProcessing.{field})"
                )
        return cls(paths["InputFilter"], paths["OutputFilter"], join, input_format, output_format)

    @property
    def per_record(self) -> bool:
        """Whether answers must be matched to records (a join or an output filter)."""
        return self.join or not self.output_filter.is_root

    # ------------------------------------------------------------------ records

    def records(self, data: bytes, split: str) -> list[bytes]:
        """The object's records, without their line endings (blank lines are not records)."""
        if split == "None":
            return [data.strip()] if data.strip() else []
        return list(filter(bytes.strip, data.splitlines()))

    def apply(self, records: list[bytes], answer: Callable[[list[bytes]], list[bytes]]) -> list[bytes]:
        """Output records for ``records``: filter, ``answer`` (the model, record for record), join, filter."""
        if self.input_format == CSV:
            return self._apply_csv(records, answer)
        return self._apply_json(records, answer)

    def _apply_csv(self, records: list[bytes], answer: Callable[[list[bytes]], list[bytes]]) -> list[bytes]:
        table: Table | None = None
        if self.input_filter.is_root:
            model_input = records
        else:
            table = Table.parse(records, "input record")
            model_input = table.select(self.input_filter).records()
        outputs = answer(model_input)
        if not self.per_record:
            return outputs
        if not self.join:
            return Table.parse(outputs, "prediction").select(self.output_filter).records()
        if self.output_filter.is_root:  # the record as it came, then the prediction: no need to split either
            return Table([records, outputs], len(records), False).records()
        table = table or Table.parse(records, "input record")
        return table.beside(Table.parse(outputs, "prediction")).select(self.output_filter).records()

    def _apply_json(self, records: list[bytes], answer: Callable[[list[bytes]], list[bytes]]) -> list[bytes]:
        values = [self._load(record, "input record", i) for i, record in enumerate(records)]
        if self.input_filter.is_root:
            model_input = records
        else:
            model_input = [_dumps(self._select(self.input_filter, value, i)) for i, value in enumerate(values)]
        outputs = answer(model_input)
        if not self.per_record:
            return outputs
        out = []
        for i, (value, output) in enumerate(zip(values, outputs)):
            prediction = self._load(output, "prediction", i)
            if self.join:
                joined = {**value, "SageMakerOutput": prediction} if isinstance(value, dict) else {"SageMakerInput": value, "SageMakerOutput": prediction}
            else:
                joined = prediction
            out.append(_dumps(self._select(self.output_filter, joined, i)))
        return out

    @staticmethod
    def _load(record: bytes, what: str, index: int) -> Any:
        try:
            return json.loads(record)
        except ValueError as exc:
            raise RecordError(f"{what} {index + 1} is not JSON: {exc}") from None

    @staticmethod
    def _select(path: JsonPath, value: Any, index: int) -> Any:
        try:
            return path.select(value)
        except SelectionError as exc:
            raise RecordError(f"record {index + 1}: {exc}") from None

    # ------------------------------------------------------------------ answers

    def split_answer(self, body: bytes, count: int) -> list[bytes]:
        """One model answer to ``count`` records, as ``count`` output records (SageMaker needs one per record to join)."""
        if self.output_format == JSON:
            if count == 1:
                return [body.strip()]
            try:
                doc = json.loads(body)
            except ValueError as exc:
                raise RecordError(f"the model's application/json answer is not JSON: {exc}") from None
            items = doc
            if isinstance(doc, dict) and len(doc) == 1:
                (items,) = doc.values()  # {"predictions": [...]}, as the first-party containers answer
            if isinstance(items, list) and len(items) == count:
                return [_dumps(item) for item in items]
            raise RecordError(
                f"the model answered {count} records with one application/json document that is not a list of {count} "
                "predictions; use SingleRecord, or Accept text/csv or application/jsonlines"
            )
        lines = list(filter(bytes.strip, body.splitlines()))
        if len(lines) == count:
            return lines
        if count == 1:
            return [body.strip()]
        raise RecordError(f"the model answered {len(lines)} line(s) for {count} record(s); each record needs its own prediction line to be joined")
