"""What a Glue crawler infers from S3 objects: records, column types, partitions and the table definition.

Pure functions and small value classes, with no moto and no threads: `glue.py` decides when to
crawl, reads the objects and applies the result to the Data Catalog. The shapes follow
../shared/reference/aws-semantics.md §5 ("Shape of a crawled JSON table").
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence, Union

# Glue samples the start of each file; later records only count towards recordCount.
SAMPLE_BYTES = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
TEXT_INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
HIVE_TEXT_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
# Without a JsonPath that selects objects, a record that is not an object (a top-level array)
# becomes one column named "record", as in Glue's "root |-- record: array" example.
NON_OBJECT_COLUMN = "record"
HIVE_FOLDER = re.compile(r"^(?P<key>[^=]+)=(?P<value>.*)$")


# ---- JsonPath -------------------------------------------------------------------------------------

class JsonPathError(ValueError):
    """A JsonPath outside the subset Glue supports; the message says what to write instead."""


_JSON_PATH_STEP = re.compile(
    r"\.(?P<name>[^.\[\]'\"]+)"
    r"|\[(?P<quote>['\"])(?P<quoted>[^'\"]*)(?P=quote)\]"
    r"|\[(?P<index>\d+)\]"
    r"|\[(?P<star>\*)\]"
)
_JSON_PATH_HELP = ("Glue supports '$' followed by .name, ['name'], [index] and [*] steps, for example "
                   "'$[*]' (each element of a top-level array is a record) or '$.records[*]'.")

WILDCARD = "*"


@dataclass(frozen=True)
class JsonPath:
    """The JsonPath subset of Glue JSON classifiers: $, .name, ['name'], [n], [*] (and .*)."""

    text: str
    steps: tuple[str | int, ...]  # a field name, an array index, or WILDCARD

    @classmethod
    def parse(cls, text: str) -> "JsonPath":
        if not text.startswith("$"):
            raise JsonPathError(f"JsonPath {text!r} must start with '$' (the root of each document). "
                                + _JSON_PATH_HELP)
        steps: list[str | int] = []
        position = 1
        while position < len(text):
            if text.startswith("..", position):
                raise JsonPathError(f"JsonPath {text!r} uses recursive descent (..), which Glue does not "
                                    "support. " + _JSON_PATH_HELP)
            match = _JSON_PATH_STEP.match(text, position)
            if match is None:
                raise JsonPathError(f"JsonPath {text!r} is not valid at {text[position:]!r} "
                                    f"(position {position}). " + _JSON_PATH_HELP)
            if match["index"] is not None:
                steps.append(int(match["index"]))
            elif match["star"] or match["name"] == WILDCARD:
                steps.append(WILDCARD)
            else:
                steps.append(match["name"] if match["name"] is not None else match["quoted"])
            position = match.end()
        return cls(text, tuple(steps))

    def select(self, document: Any) -> list[Any]:
        """Every node of the document the path points at (a wildcard fans out)."""
        nodes = [document]
        for step in self.steps:
            found: list[Any] = []
            for node in nodes:
                if step == WILDCARD:
                    found.extend(node if isinstance(node, list) else node.values() if isinstance(node, dict)
                                 else [])
                elif isinstance(step, int):
                    if isinstance(node, list) and step < len(node):
                        found.append(node[step])
                elif isinstance(node, dict) and step in node:
                    found.append(node[step])
            nodes = found
        return nodes


# ---- Glue (Hive) types ----------------------------------------------------------------------------

@dataclass
class Struct:
    fields: dict[str, "GlueType"]


@dataclass
class Array:
    element: "GlueType"


# A primitive type name, a struct, an array, or None when only nulls were seen (shown as string).
GlueType = Union[str, Struct, Array, None]
_NUMBER_RANK = {"int": 0, "bigint": 1, "double": 2}
_INT_RANGE = range(-(2**31), 2**31)
_BIGINT_RANGE = range(-(2**63), 2**63)


def type_of(value: Any) -> GlueType:
    """The Glue type of one JSON value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int" if value in _INT_RANGE else "bigint" if value in _BIGINT_RANGE else "double"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return Struct({key: type_of(item) for key, item in value.items()})
    element: GlueType = None
    for item in value:
        element = widen(element, type_of(item))
    return Array(element)


def widen(seen: GlueType, new: GlueType) -> GlueType:
    """The type that holds both: int -> bigint -> double, structs and arrays merge, conflicts -> string."""
    if seen is None or seen == new:
        return new
    if new is None:
        return seen
    if isinstance(seen, str) and isinstance(new, str):
        if seen in _NUMBER_RANK and new in _NUMBER_RANK:
            return max(seen, new, key=_NUMBER_RANK.__getitem__)
        return "string"
    if isinstance(seen, Struct) and isinstance(new, Struct):
        merged = dict(seen.fields)
        for name, kind in new.fields.items():
            merged[name] = widen(merged.get(name), kind)
        return Struct(merged)
    if isinstance(seen, Array) and isinstance(new, Array):
        return Array(widen(seen.element, new.element))
    return "string"


def type_name(kind: GlueType) -> str:
    """The Hive type string the Data Catalog stores, e.g. array<struct<sku:string,qty:int>>."""
    if kind is None:
        return "string"
    if isinstance(kind, Struct):
        return "struct<" + ",".join(f"{name}:{type_name(item)}" for name, item in kind.fields.items()) + ">"
    if isinstance(kind, Array):
        return f"array<{type_name(kind.element)}>"
    return kind


# ---- reading one object ---------------------------------------------------------------------------

@dataclass
class Columns:
    """Top-level columns in first-seen order: Glue lowercases names; `paths` keeps the JSON spelling."""

    types: dict[str, GlueType] = field(default_factory=dict)
    spellings: dict[str, str] = field(default_factory=dict)

    def add_record(self, record: dict[str, Any]) -> None:
        for key, value in record.items():
            self.merge(key, type_of(value))

    def merge(self, key: str, kind: GlueType) -> None:
        column = key.lower()
        self.spellings.setdefault(column, key)
        self.types[column] = widen(self.types.get(column), kind)

    def add(self, other: "Columns") -> None:
        for column, kind in other.types.items():
            self.merge(other.spellings[column], kind)


@dataclass
class FileSchema:
    """What one object contributes to its table."""

    columns: Columns
    record_count: int
    raw_bytes: int  # uncompressed
    compression: str  # "none" | "gzip"
    classifier: str | None  # the custom classifier that matched, None for the built-in JSON one


def read_json_object(body: bytes, classifiers: Sequence[tuple[str, JsonPath]]) -> FileSchema | None:
    """Classify an object as JSON and infer its columns, or None when it is not JSON.

    Custom classifiers are tried in order: the first whose JsonPath selects only objects wins, and
    each selected node is a record. Otherwise the built-in JSON classifier makes each top-level JSON value
    (one per line, or one document per file) a record.
    """
    compression = "gzip" if body[:2] == GZIP_MAGIC else "none"
    try:
        data = gzip.decompress(body) if compression == "gzip" else body
    except (OSError, EOFError):  # a truncated or corrupt gzip object cannot be classified
        return None
    documents = list(_json_documents(data.decode("utf-8", errors="replace").lstrip("\ufeff")))
    if not documents or not isinstance(documents[0][0], (dict, list)):
        return None
    for name, path in classifiers:
        selected = [(node, offset) for document, offset in documents for node in path.select(document)]
        if selected and all(isinstance(node, dict) for node, _ in selected):
            return FileSchema(_sample_columns(selected), len(selected), len(data), compression, name)
    return FileSchema(_sample_columns(documents), len(documents), len(data), compression, None)


def _json_documents(text: str) -> Iterator[tuple[Any, int]]:
    """Each top-level JSON value with its offset; a broken line is skipped. Nothing if the text is not JSON."""
    decoder = json.JSONDecoder()
    whitespace = re.compile(r"\s*")
    position = whitespace.match(text).end()  # type: ignore[union-attr]
    first = True
    while position < len(text):
        try:
            value, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            if first:
                return
            newline = text.find("\n", position)
            position = len(text) if newline < 0 else whitespace.match(text, newline).end()  # type: ignore[union-attr]
            continue
        yield value, position
        first = False
        position = whitespace.match(text, end).end()  # type: ignore[union-attr]


def _sample_columns(records: list[tuple[Any, int]]) -> Columns:
    columns = Columns()
    for record, offset in records:
        if offset >= SAMPLE_BYTES:
            break
        columns.add_record(record if isinstance(record, dict) else {NON_OBJECT_COLUMN: record})
    return columns


# ---- folders: table, partitions -------------------------------------------------------------------

def table_name(prefix: str, folder: str) -> str:
    """TablePrefix + folder name, lowercased, every character other than [a-z0-9_] turned into '_'."""
    return re.sub(r"[^a-z0-9_]", "_", (prefix + folder).lower())


@dataclass(frozen=True)
class FolderLayout:
    """How the folders below a table folder map to partition keys.

    Every object contributes its first `depth` folders (the shallowest object decides the depth).
    A level whose folders are all `key=value` with one key is named after that key; other levels are
    partition_<level>, as Glue names them.
    """

    depth: int
    keys: tuple[str, ...]

    @classmethod
    def of(cls, relative_keys: Sequence[str]) -> "FolderLayout":
        folder_lists = [key.split("/")[:-1] for key in relative_keys]
        depth = min((len(folders) for folders in folder_lists), default=0)
        names = []
        for level in range(depth):
            hive_keys = {_hive_key(folders[level]) for folders in folder_lists}
            only_key = hive_keys.pop() if len(hive_keys) == 1 else None
            names.append(only_key.lower() if only_key else f"partition_{level}")
        return cls(depth, tuple(names))

    def folders(self, relative_key: str) -> tuple[str, ...]:
        return tuple(relative_key.split("/")[: self.depth])

    def values(self, folders: tuple[str, ...]) -> list[str]:
        """Partition values: the value part of key=value folders, the whole name of other folders."""
        return [_hive_value(folder) if (_hive_key(folder) or "").lower() == name else folder
                for name, folder in zip(self.keys, folders)]


def _hive_key(folder: str) -> str | None:
    match = HIVE_FOLDER.match(folder)
    return match["key"] if match else None


def _hive_value(folder: str) -> str:
    match = HIVE_FOLDER.match(folder)
    return match["value"] if match else folder


# ---- the table definition -------------------------------------------------------------------------

@dataclass
class DataStats:
    """The counts Glue writes into a table's or partition's Parameters."""

    objects: int = 0
    records: int = 0
    raw_bytes: int = 0
    size: int = 0
    compressions: Counter = field(default_factory=Counter)

    def add(self, schema: FileSchema, size: int) -> None:
        self.objects += 1
        self.records += schema.record_count
        self.raw_bytes += schema.raw_bytes
        self.size += size
        self.compressions[schema.compression] += 1

    def parameters(self, crawler_name: str) -> dict[str, str]:
        return {
            "CrawlerSchemaDeserializerVersion": "1.0",
            "CrawlerSchemaSerializerVersion": "1.0",
            "UPDATED_BY_CRAWLER": crawler_name,
            "averageRecordSize": str(self.raw_bytes // max(self.records, 1)),
            "classification": "json",
            "compressionType": self.compressions.most_common(1)[0][0] if self.compressions else "none",
            "objectCount": str(self.objects),
            "recordCount": str(self.records),
            "sizeKey": str(self.size),
            "typeOfData": "file",
        }


@dataclass
class TableDefinition:
    """One crawled table: its columns, partitions and statistics, ready to become Glue API inputs."""

    name: str
    location: str  # s3://bucket/folder/ (trailing slash)
    layout: FolderLayout
    columns: Columns = field(default_factory=Columns)
    stats: DataStats = field(default_factory=DataStats)
    partitions: dict[tuple[str, ...], DataStats] = field(default_factory=dict)  # folders -> stats

    def add_object(self, folders: tuple[str, ...], size: int, schema: FileSchema) -> None:
        self.columns.add(schema.columns)
        self.stats.add(schema, size)
        self.partitions.setdefault(folders, DataStats()).add(schema, size)

    def partition_location(self, folders: tuple[str, ...]) -> str:
        return self.location + "".join(f"{folder}/" for folder in folders)

    def table_input(self, crawler_name: str, created_by: str) -> dict[str, Any]:
        parameters = self.stats.parameters(crawler_name)
        return {
            "Name": self.name,
            "Owner": "owner",
            "Retention": 0,
            "CreatedBy": created_by,
            "StorageDescriptor": self._storage(self.location, dict(parameters)),
            "PartitionKeys": [{"Name": key, "Type": "string"} for key in self.layout.keys],
            "TableType": "EXTERNAL_TABLE",
            "Parameters": parameters,
            "IsRegisteredWithLakeFormation": False,
        }

    def partition_input(self, folders: tuple[str, ...], table_storage: dict[str, Any],
                        crawler_name: str) -> dict[str, Any]:
        """A partition whose storage is the table's (columns, SerDe) at the partition's own folder."""
        storage = dict(table_storage, Location=self.partition_location(folders),
                       Parameters=self.partitions[folders].parameters(crawler_name))
        return {"Values": self.layout.values(folders), "StorageDescriptor": storage, "Parameters": {}}

    def _storage(self, location: str, parameters: dict[str, str]) -> dict[str, Any]:
        return {
            "Columns": [{"Name": name, "Type": type_name(kind)} for name, kind in self.columns.types.items()],
            "Location": location,
            "InputFormat": TEXT_INPUT_FORMAT,
            "OutputFormat": HIVE_TEXT_OUTPUT_FORMAT,
            "Compressed": parameters["compressionType"] != "none",
            "NumberOfBuckets": -1,
            "SerdeInfo": {"SerializationLibrary": JSON_SERDE,
                          "Parameters": {"paths": ",".join(sorted(self.columns.spellings.values()))}},
            "BucketColumns": [],
            "SortColumns": [],
            "Parameters": parameters,
            "StoredAsSubDirectories": False,
        }


def exclusion_matcher(patterns: Sequence[str]) -> re.Pattern[str] | None:
    """One regex for a crawler's Exclusions globs (relative to the include path): ** crosses folders, * does not."""
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{_glob_regex(pattern)})" for pattern in patterns))


def _glob_regex(pattern: str) -> str:
    parts = []
    for token in re.findall(r"\*\*|\*|\?|\{[^}]*\}|\[!?[^\]]*\]|.", pattern, flags=re.S):
        if token == "**":
            parts.append(".*")
        elif token == "*":
            parts.append("[^/]*")
        elif token == "?":
            parts.append("[^/]")
        elif token.startswith("{") and len(token) > 1:
            parts.append("(?:" + "|".join(re.escape(choice) for choice in token[1:-1].split(",")) + ")")
        elif token.startswith("[") and len(token) > 2:
            parts.append("[^" + token[2:-1] + "]" if token.startswith("[!") else token)
        else:
            parts.append(re.escape(token))
    return "".join(parts) + r"\Z"
