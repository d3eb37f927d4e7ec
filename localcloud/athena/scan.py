"""What one table reference reads: its partitions, the S3 objects in them, and the DuckDB SQL over them.

A Glue table is a schema plus S3 locations. For a query, this module

1. lists the table's partitions: none, the Glue partitions, or the ones partition projection describes;
2. keeps the partitions (then the objects) that the query's WHERE conditions on partition columns and
   `"$path"` allow, by evaluating those conditions in DuckDB on a small table of candidate values;
3. copies the surviving objects from moto's S3 once per (bucket, key, ETag): Parquet objects into local
   files; JSON objects decoded with the Glue schema as explicit `read_json` columns (4x faster than type
   detection) into a DuckDB table, which later queries read without parsing JSON again;
4. writes a DuckDB subquery reading them, with the partition values and the hidden columns `"$path"`,
   `"$file_size"` and `"$file_modified_time"`.

DataScannedInBytes is the sum of the sizes of the objects read.
"""

from __future__ import annotations

import calendar
import datetime
import gzip
import hashlib
import itertools
import json
import os
import re
import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas
from sqlglot import exp

from localcloud.athena import formatting, translate
from localcloud.athena.formatting import quote_identifier, quote_literal
from localcloud.athena.query_error import QueryError
from localcloud.moto_state.s3 import S3ObjectInfo, S3Objects

# Athena's hidden columns: queryable by name, never part of SELECT *.
HIDDEN_COLUMNS = {"$path": "string", "$file_size": "bigint", "$file_modified_time": "timestamp"}
FILE_COLUMN = "__localcloud_file"
OBJECT_COLUMN = "__localcloud_object"
MAX_PROJECTED_PARTITIONS = 1_000_000
MIN_FREE_SHARED_MEMORY = 1 << 30  # bytes /dev/shm must have free to stage objects and results there


@dataclass(frozen=True)
class CatalogTable:
    """A Glue table, as far as reading it is concerned."""

    database: str
    name: str
    columns: list[tuple[str, str]]          # data columns: (name, Glue type)
    partition_keys: list[tuple[str, str]]
    location: str
    data_format: str                        # "json", "parquet", or the SerDe/InputFormat Athena would use
    table_type: str
    parameters: dict[str, str] = field(default_factory=dict)
    serde_parameters: dict[str, str] = field(default_factory=dict)
    view_text: str = ""

    @classmethod
    def from_glue(cls, database: str, table: dict[str, Any]) -> "CatalogTable":
        descriptor = table.get("StorageDescriptor") or {}
        serde = descriptor.get("SerdeInfo") or {}
        library = serde.get("SerializationLibrary") or ""
        input_format = descriptor.get("InputFormat") or ""
        parameters = {**(descriptor.get("Parameters") or {}), **(table.get("Parameters") or {})}
        classification = parameters.get("classification", "").lower()
        if "json" in library.lower() or (not library and classification == "json"):
            data_format = "json"
        elif "parquet" in (library + input_format).lower() or (not library and classification == "parquet"):
            data_format = "parquet"
        else:
            data_format = library or input_format or classification or "an unknown format"
        return cls(
            database=database,
            name=table["Name"].lower(),
            columns=[(column["Name"].lower(), column["Type"]) for column in descriptor.get("Columns") or []],
            partition_keys=[(key["Name"].lower(), key["Type"]) for key in table.get("PartitionKeys") or []],
            location=descriptor.get("Location") or "",
            data_format=data_format,
            table_type=table.get("TableType") or "EXTERNAL_TABLE",
            parameters=parameters,
            serde_parameters=serde.get("Parameters") or {},
            view_text=table.get("ViewOriginalText") or "",
        )

    @property
    def qualified_name(self) -> str:
        return f"awsdatacatalog.{self.database}.{self.name}"

    @property
    def is_view(self) -> bool:
        return self.table_type == "VIRTUAL_VIEW"

    def schema(self) -> dict[str, str]:
        """Every queryable column and its Glue type: data columns, partition keys, hidden columns."""
        return {**dict(self.columns), **dict(self.partition_keys), **HIDDEN_COLUMNS}


@dataclass(frozen=True)
class DataFile:
    """An S3 object a query reads, the partition it belongs to, and where DuckDB finds its rows once copied:
    a local Parquet file, or the object's id in a decoded JSON table."""

    info: S3ObjectInfo
    partition: tuple[str, ...]
    local: str = ""
    bytes_read: int = 0  # what Athena counts in DataScannedInBytes for this object

    @property
    def uri(self) -> str:
        return f"s3://{self.info.bucket}/{self.info.key}"


@dataclass
class TableScan:
    """A table reference ready to run: the subquery that reads it and what it reads."""

    sql: str
    files: list[DataFile]

    @property
    def bytes_scanned(self) -> int:
        return sum(file.bytes_read for file in self.files)


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise QueryError("INVALID_TABLE_PROPERTY", f"Location {uri!r} is not an s3:// URI")
    bucket, _, key = uri[len("s3://"):].partition("/")
    return bucket, key


@dataclass(frozen=True)
class DecodedJson:
    """Where decoded JSON rows are: a DuckDB table, with each object's number in OBJECT_COLUMN."""

    table: str
    numbers: dict[str, int]  # object_id() -> number
    complete: bool           # True when the table holds exactly these objects (no filter needed)


@dataclass
class _DecodedTable:
    """A DuckDB table of decoded JSON rows: its columns, and the number of each object decoded into it."""

    name: str
    columns: list[tuple[str, str]]
    numbers: dict[str, int] = field(default_factory=dict)  # object_id() -> number in OBJECT_COLUMN
    versions: dict[tuple[str, str], str] = field(default_factory=dict)  # (bucket, key) -> object_id() decoded
    next_number: int = 0


class ObjectCache:
    """Local copies of S3 objects, by (bucket, key, ETag) so that a changed object is read again.

    DuckDB cannot read moto's S3 itself (httpfs cannot be downloaded here), so objects are copied once and
    reused by every later query. Parquet objects become local files. JSON objects are decoded per table
    schema into a DuckDB table (with a column naming the object each row came from; see json_table): later
    queries read those rows in memory instead of parsing JSON again. Before decoding, JSON is
    decompressed, and its keys lower-cased when they are not (the OpenX SerDe matches keys
    case-insensitively; DuckDB does not). The JSON DuckDB decodes is staged in memory-backed /dev/shm where
    there is one: written to disk, 240 MB of JSON took 0.5 s to stage, as long as decoding it.
    """

    def __init__(self, storage: S3Objects, directory: Path):
        self.storage = storage
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.staging = Path(tempfile.mkdtemp(prefix="localcloud-athena-", dir=_memory_backed_folder()))
        weakref.finalize(self, shutil.rmtree, self.staging, ignore_errors=True)
        self._uris: dict[str, str] = {}
        self._tables: dict[str, _DecodedTable] = {}  # per schema: the table its queries read
        self._decoding = threading.Lock()

    def parquet_file(self, info: S3ObjectInfo) -> str:
        """A Parquet object's bytes in a local file."""
        path = self.directory / f"{object_id(info)}.parquet"
        self._uris[str(path)] = uri_of(info)
        if not path.exists():
            handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".partial")
            with os.fdopen(handle, "wb") as out:
                out.write(self._read(info))
            os.replace(temporary, path)
        return str(path)

    def json_table(self, infos: list[S3ObjectInfo], schema: list[tuple[str, str]], needed: list[tuple[str, str]],
                   ignore_errors: bool, cursor: duckdb.DuckDBPyConnection) -> DecodedJson:
        """The DuckDB table holding these JSON objects, with at least the `needed` columns of `schema`.

        A schema's objects are decoded into one table: at first with only the columns the first query reads
        (decoding the 9 columns of the course's change log takes twice as long as 3), then, the first time a
        query needs a column that table lacks, into a new table with the whole schema, which from then on
        serves every query. The first table is not dropped, as a query may still be reading it.
        Objects not decoded yet are decoded together, in one statement; the rows of the versions they
        replace (an object written again under its key) are deleted.
        """
        family = hashlib.sha256(f"{schema}\0{ignore_errors}".encode()).hexdigest()[:16]
        with self._decoding:
            current = self._tables.get(family)
            if current is None or not set(needed) <= set(current.columns):
                columns = needed if current is None else schema
                current = _DecodedTable(f"__localcloud_json_{family}_{len(columns)}", columns)
                definitions = ", ".join(f"{quote_identifier(name)} {kind}" for name, kind in columns)
                cursor.execute(f"CREATE OR REPLACE TABLE {current.name} ({definitions}, {OBJECT_COLUMN} INTEGER)")
                self._tables[family] = current
            decoded = current.numbers
            missing = {}
            for info in infos:
                if object_id(info) not in decoded and object_id(info) not in missing:
                    missing[object_id(info)] = (current.next_number, info)
                    current.next_number += 1
            if missing:
                self._decode(current.name, list(missing.values()), current.columns, ignore_errors, cursor)
                decoded.update({identity: number for identity, (number, _) in missing.items()})
                _forget_replaced_versions(current, [info for _, info in missing.values()], cursor)
            numbers = {object_id(info): decoded[object_id(info)] for info in infos}
            return DecodedJson(current.name, numbers, complete=len(set(numbers.values())) == len(decoded))

    def _decode(self, table: str, missing: list[tuple[int, S3ObjectInfo]], columns: list[tuple[str, str]],
                ignore_errors: bool, cursor: duckdb.DuckDBPyConnection) -> None:
        sources = []
        try:
            for number, info in missing:
                source = self.staging / f"{number}.json"
                self._uris[str(source)] = uri_of(info)
                source.write_bytes(_normalised_json(self._read(info)))
                sources.append(source)
            listing = "[" + ", ".join(quote_literal(str(source)) for source in sources) + "]"
            cursor.execute(f"INSERT INTO {table} SELECT * EXCLUDE ({FILE_COLUMN}), "
                           f"CAST(parse_filename({FILE_COLUMN}, true) AS INTEGER) "
                           f"FROM {read_json_sql(listing, columns, ignore_errors, filename=True)}")
        finally:
            for source in sources:
                source.unlink(missing_ok=True)

    def with_uris(self, message: str) -> str:
        """An error message with cache paths replaced by the s3:// URIs they are copies of."""
        folders = "|".join(re.escape(str(folder)) for folder in (self.directory, self.staging))
        return re.sub(f"(?:{folders})" + r"/[0-9a-f]+\.\w+", lambda m: self._uris.get(m.group(0), m.group(0)),
                      message)

    def _read(self, info: S3ObjectInfo) -> bytes:
        try:
            return self.storage.read(info.bucket, info.key)
        except KeyError:
            raise QueryError("HIVE_FILE_NOT_FOUND", f"File {uri_of(info)} does not exist (it was deleted while the "
                                                    "query ran)", error_type=1014) from None


def _forget_replaced_versions(table: _DecodedTable, infos: list[S3ObjectInfo],
                              cursor: duckdb.DuckDBPyConnection) -> None:
    """Delete the rows of the object versions these newly decoded objects replace, so that an object
    written again and again does not pile up rows (and queries keep reading the table without a filter)."""
    replaced = []
    for info in infos:
        older = table.versions.get((info.bucket, info.key))
        if older is not None and older in table.numbers:
            replaced.append(table.numbers.pop(older))
        table.versions[(info.bucket, info.key)] = object_id(info)
    if replaced:
        cursor.execute(f"DELETE FROM {table.name} WHERE {OBJECT_COLUMN} IN ({', '.join(map(str, replaced))})")


def _memory_backed_folder() -> str | None:
    """/dev/shm on Linux (a tmpfs) when it has room, else None: the system's temporary folder.

    Containers often give /dev/shm only 64 MB, less than bench/athena.py's change log (239 MB).
    """
    try:
        if os.access("/dev/shm", os.W_OK) and shutil.disk_usage("/dev/shm").free >= MIN_FREE_SHARED_MEMORY:
            return "/dev/shm"
    except OSError:  # not there after all: use the temporary folder
        pass
    return None


def object_id(info: S3ObjectInfo) -> str:
    """A name for one version of an object: its bucket, key and ETag, hashed."""
    return hashlib.sha256(f"{info.bucket}\0{info.key}\0{info.etag}".encode()).hexdigest()[:40]


def uri_of(info: S3ObjectInfo) -> str:
    return f"s3://{info.bucket}/{info.key}"


def _normalised_json(body: bytes) -> bytes:
    """JSON lines as DuckDB should read them: decompressed, keys in lower case."""
    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return _lower_case_keys(body) if _has_upper_case_keys(body) else body


def read_json_sql(paths: str, columns: list[tuple[str, str]], ignore_errors: bool, filename: bool = False) -> str:
    """DuckDB's read_json for OpenX-style JSON lines, with the Glue schema as explicit columns.

    records=true matters: with a single column DuckDB would otherwise sample the files to decide.
    """
    spec = "{" + ", ".join(f"{quote_literal(name)}: {quote_literal(kind)}" for name, kind in columns) + "}"
    file_column = f", filename={quote_literal(FILE_COLUMN)}" if filename else ""
    return (f"read_json({paths}, columns={spec}, format='newline_delimited', records=true, "
            f"ignore_errors={str(ignore_errors).lower()}, maximum_object_size=268435456{file_column})")


SAMPLED_LINES = 16


def _has_upper_case_keys(body: bytes) -> bool:
    """Whether sampled lines (first, last and some between) have a key, at any depth, with upper case.

    Objects are written by one producer, so their lines share keys; checking every line would cost
    seconds per hundred megabytes.
    """
    def upper_case_keys(value: Any) -> bool:
        if isinstance(value, dict):
            return any(key != key.lower() or upper_case_keys(item) for key, item in value.items())
        if isinstance(value, list):
            return any(upper_case_keys(item) for item in value)
        return False

    starts = {0} | {body.rfind(b"\n", 0, len(body) * i // SAMPLED_LINES) + 1 for i in range(1, SAMPLED_LINES)}
    starts.add(body.rfind(b"\n", 0, len(body.rstrip())) + 1)
    for start in starts:
        end = body.find(b"\n", start)
        try:
            if upper_case_keys(json.loads(body[start:end if end >= 0 else len(body)])):
                return True
        except ValueError:
            continue
    return False


def _lower_case_keys(body: bytes) -> bytes:
    def lower(value: Any) -> Any:
        if isinstance(value, dict):
            return {key.lower(): lower(item) for key, item in value.items()}
        if isinstance(value, list):
            return [lower(item) for item in value]
        return value

    lines = []
    for line in body.split(b"\n"):
        try:
            lines.append(json.dumps(lower(json.loads(line))).encode() if line.strip() else line)
        except ValueError:
            lines.append(line)  # left as it is: reading it reports the malformed line
    return b"\n".join(lines)


class TableScanner:
    """Plans and materialises the reads of catalog tables for one engine."""

    def __init__(self, catalog: Any, storage: S3Objects, cache: ObjectCache):
        self.catalog = catalog
        self.storage = storage
        self.cache = cache

    def scan(self, table: CatalogTable, columns: set[str], filters: list[exp.Expression],
             cursor: duckdb.DuckDBPyConnection, read_data: bool = True) -> TableScan:
        """Read `columns` of `table`, skipping partitions and objects that `filters` exclude.

        With read_data=False the subquery has the table's types but no rows (to learn a query's types).
        """
        if not read_data:
            return TableScan(_scan_sql(table, columns, [], None, cursor), [])
        if table.data_format not in ("json", "parquet"):
            raise QueryError("NOT_SUPPORTED", f"Table '{table.qualified_name}' is stored as {table.data_format}; "
                                              "localcloud's Athena reads JSON (OpenX JsonSerDe) and Parquet tables",
                             error_type=1001)
        partition_names = [name for name, _ in table.partition_keys]
        partition_filters = [f for f in filters if _columns_of(f) <= set(partition_names)]
        file_filters = [f for f in filters if f not in partition_filters]
        if table.parameters.get("projection.enabled", "").lower() == "true" and table.partition_keys:
            candidates = projected_partitions(table, partition_filters)
        elif table.partition_keys:
            candidates = [(tuple(p["Values"]), (p.get("StorageDescriptor") or {}).get("Location") or "")
                          for p in self.catalog.partitions(table.database, table.name)]
        else:
            candidates = [((), table.location)]
        if partition_filters and candidates:
            keep = _matching_rows(cursor, table.partition_keys, [values for values, _ in candidates],
                                  partition_filters)
            candidates = [candidates[index] for index in keep]
        files = self._list_files(candidates)
        if file_filters and files:
            keys = table.partition_keys + [(name, kind) for name, kind in HIDDEN_COLUMNS.items()]
            rows = [list(file.partition) + _hidden_values(file) for file in files]
            files = [files[index] for index in _matching_rows(cursor, keys, rows, file_filters)]
        decoded = None
        if table.data_format == "json" and files:
            schema = [(name, _duckdb_type(kind)) for name, kind in table.columns] or [("_", "VARCHAR")]
            needed = [column for column in schema if column[0] in columns] or schema[:1]
            ignore_errors = table.serde_parameters.get("ignore.malformed.json", "").lower() == "true"
            decoded = self.cache.json_table([file.info for file in files], schema, needed, ignore_errors, cursor)
            files = [DataFile(file.info, file.partition, str(decoded.numbers[object_id(file.info)]), file.info.size)
                     for file in files]
        else:
            local = [self.cache.parquet_file(file.info) for file in files]
            files = [DataFile(file.info, file.partition, path, parquet_bytes_read(path, columns, cursor))
                     for file, path in zip(files, local)]
        return TableScan(_scan_sql(table, columns, files, decoded, cursor), files)

    def _list_files(self, partitions: list[tuple[tuple[str, ...], str]]) -> list[DataFile]:
        """The objects under each partition location (recursively), listing each bucket once."""
        by_bucket: dict[str, dict[str, list[tuple[str, ...]]]] = {}
        for values, location in partitions:
            if not location:
                continue
            bucket, prefix = split_s3_uri(location)
            prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
            by_bucket.setdefault(bucket, {}).setdefault(prefix, []).append(values)
        files = []
        for bucket, prefixes in by_bucket.items():
            if not self.storage.bucket_exists(bucket):
                raise QueryError("HIVE_FILE_NOT_FOUND", f"The table location bucket {bucket!r} does not exist", error_type=1014)
            common = os.path.commonprefix(list(prefixes))
            for info in self.storage.list(bucket, common):
                if not _is_data_object(info):
                    continue
                for cut in [0] + [index + 1 for index, char in enumerate(info.key) if char == "/"]:
                    for values in prefixes.get(info.key[:cut], []):
                        files.append(DataFile(info, values))
        return files


def parquet_bytes_read(path: str, columns: set[str], cursor: duckdb.DuckDBPyConnection) -> int:
    """What Athena reads of a Parquet object, and counts as scanned: its footer, and the column chunks of the
    columns the query reads (a JSON object is read whole)."""
    chunks = cursor.execute("SELECT path_in_schema, total_compressed_size FROM parquet_metadata(?)", [path]).fetchall()
    with open(path, "rb") as file:  # a Parquet file ends with its footer's length (4 bytes) and b"PAR1"
        file.seek(-8, os.SEEK_END)
        footer = int.from_bytes(file.read(4), "little") + 8
    wanted = {name.lower() for name in columns}
    return footer + sum(size for column_path, size in chunks if column_path.split(", ")[0].lower() in wanted)


def _is_data_object(info: S3ObjectInfo) -> bool:
    """Athena skips folder markers, empty objects and names starting with '_' or '.' (e.g. _SUCCESS)."""
    name = info.key.rsplit("/", 1)[-1]
    return info.size > 0 and not info.key.endswith("/") and not name.startswith(("_", ".")) \
        and not info.key.endswith("_$folder$")


def _hidden_values(file: DataFile) -> list[str]:
    modified = file.info.last_modified
    if modified.tzinfo is not None:  # moto keeps naive UTC times; a zone-aware one is converted to UTC
        modified = modified.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return [file.uri, str(file.info.size), modified.strftime("%Y-%m-%d %H:%M:%S.%f")]


def _columns_of(condition: exp.Expression) -> set[str]:
    return {column.name for column in condition.find_all(exp.Column)}


def _matching_rows(cursor: duckdb.DuckDBPyConnection, keys: list[tuple[str, str]], rows: list[list[str]],
                   filters: list[exp.Expression]) -> list[int]:
    """Indexes of the rows (values of `keys`, as text) for which every filter holds, evaluated by DuckDB."""
    frame = pandas.DataFrame({f"c{i}": [row[i] for row in rows] for i in range(len(keys))}, dtype=object)
    frame.insert(0, "row_index", range(len(rows)))
    name = f"__localcloud_candidates_{id(frame)}"
    cursor.register(name, frame)
    try:
        typed = ", ".join(f"CAST(c{i} AS {_duckdb_type(kind)}) AS {quote_identifier(key)}"
                          for i, (key, kind) in enumerate(keys))
        conditions = " AND ".join(f"({translate.to_duckdb(condition.copy())})" for condition in filters)
        found = cursor.execute(f"SELECT row_index FROM (SELECT row_index, {typed} FROM {name}) "
                               f"WHERE {conditions}").fetchall()
    finally:
        cursor.unregister(name)
    return sorted(index for (index,) in found)


def _duckdb_type(glue_type: str) -> str:
    if glue_type == "timestamp":
        return "TIMESTAMP"
    try:
        return formatting.duckdb_type(glue_type)
    except formatting.UnsupportedGlueType as error:
        raise QueryError("NOT_SUPPORTED", str(error), error_type=1001) from None


# ---- the DuckDB subquery -------------------------------------------------------------------------

def _scan_sql(table: CatalogTable, columns: set[str], files: list[DataFile], decoded: DecodedJson | None,
              cursor: duckdb.DuckDBPyConnection) -> str:
    """The subquery reading the files: data columns, then partition and hidden columns by file."""
    data_columns = [(name, _duckdb_type(kind)) for name, kind in table.columns if name in columns]
    extra_columns = [(name, _duckdb_type(kind)) for name, kind in table.partition_keys if name in columns]
    extra_columns += [(name, _duckdb_type(kind)) for name, kind in HIDDEN_COLUMNS.items() if name in columns]
    if not files:
        typed_nulls = [f"CAST(NULL AS {kind}) AS {quote_identifier(name)}" for name, kind in
                       data_columns + extra_columns]
        return f"SELECT {', '.join(typed_nulls) or 'NULL AS __localcloud_none'} WHERE false"
    if decoded is not None:  # rows of decoded objects: the join below keeps this query's objects
        source, key = decoded.table, OBJECT_COLUMN
        projections = [f"data.{quote_identifier(name)}" for name, _ in data_columns]
    else:
        paths = "[" + ", ".join(quote_literal(file.local) for file in files) + "]"
        source, key = f"read_parquet({paths}, union_by_name=true, filename={quote_literal(FILE_COLUMN)})", FILE_COLUMN
        projections = _parquet_projections(data_columns, source, cursor)
    projections += [f"CAST(files.{quote_identifier(name)} AS {kind}) AS {quote_identifier(name)}"
                    for name, kind in extra_columns]
    selected = ", ".join(projections) or "NULL AS __localcloud_none"
    if not extra_columns and (decoded is None or decoded.complete):
        return f"SELECT {selected} FROM {source} AS data"
    keys = table.partition_keys + list(HIDDEN_COLUMNS.items()) if extra_columns else []
    rows = ", ".join(
        "(" + ", ".join([file.local if decoded is not None else quote_literal(file.local)] +
                        [quote_literal(value) for value in (list(file.partition) + _hidden_values(file) if keys else [])])
        + ")"
        for file in files
    )
    labels = ", ".join([key] + [quote_identifier(name) for name, _ in keys])
    return f"SELECT {selected} FROM {source} AS data JOIN (VALUES {rows}) AS files({labels}) USING ({key})"


def _parquet_projections(data_columns: list[tuple[str, str]], source: str,
                         cursor: duckdb.DuckDBPyConnection) -> list[str]:
    """Parquet columns by name, as Athena reads them: missing columns are NULL, names match in any case."""
    present = {name.lower(): name for name, *_ in cursor.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    return [
        f"CAST(data.{quote_identifier(present[name])} AS {kind}) AS {quote_identifier(name)}"
        if name in present else f"CAST(NULL AS {kind}) AS {quote_identifier(name)}"
        for name, kind in data_columns
    ]


# ---- partition projection ------------------------------------------------------------------------

def projected_partitions(table: CatalogTable, filters: list[exp.Expression]) -> list[tuple[tuple[str, ...], str]]:
    """Every partition the table's projection.* properties describe, with its location.

    Injected columns take their values from the query's equality conditions, as Athena requires.
    """
    value_lists = [_projected_values(table, name, filters) for name, _ in table.partition_keys]
    count = 1
    for values in value_lists:
        count *= len(values)
    if count > MAX_PROJECTED_PARTITIONS:
        raise QueryError("HIVE_EXCEEDED_PARTITION_LIMIT",
                         f"Partition projection of '{table.qualified_name}' describes {count} partitions, more "
                         f"than {MAX_PROJECTED_PARTITIONS}: add conditions on the partition columns or narrow "
                         "the projection ranges")
    template = table.parameters.get("storage.location.template")
    names = [name for name, _ in table.partition_keys]
    partitions = []
    for values in itertools.product(*value_lists):
        if template:
            location = template
            for name, value in zip(names, values):
                location = re.sub(r"\$\{" + re.escape(name) + r"\}", lambda _: value, location, flags=re.I)
        else:
            location = table.location.rstrip("/") + "/" + "/".join(f"{n}={v}" for n, v in zip(names, values))
        partitions.append((values, location.rstrip("/") + "/"))
    return partitions


def _projected_values(table: CatalogTable, column: str, filters: list[exp.Expression]) -> list[str]:
    def setting(name: str, default: str | None = None) -> str:
        value = table.parameters.get(f"projection.{column}.{name}", default)
        if value is None:
            raise QueryError("INVALID_TABLE_PROPERTY", f"Partition projection of '{table.qualified_name}' needs "
                                                       f"the table property projection.{column}.{name}")
        return value

    kind = setting("type").lower()
    if kind == "enum":
        return [value.strip() for value in setting("values").split(",")]
    if kind == "integer":
        low, high = (int(part) for part in setting("range").split(","))
        step = int(setting("interval", "1"))
        digits = int(setting("digits", "1"))
        return [str(number).zfill(digits) for number in range(low, high + 1, step)]
    if kind == "date":
        return _projected_dates(setting("range"), setting("format"), int(setting("interval", "1")),
                                table.parameters.get(f"projection.{column}.interval.unit"))
    if kind == "injected":
        values = _equality_values(column, filters)
        if not values:
            raise QueryError("CONSTRAINT_VIOLATION",
                             f"For the injected projected partition column {column}, the WHERE clause must "
                             "contain only static equality conditions, and at least one such condition must "
                             "be present.")
        return values
    raise QueryError("INVALID_TABLE_PROPERTY", f"projection.{column}.type={kind!r} is not one of enum, integer, "
                                               "date, injected")


def _equality_values(column: str, filters: list[exp.Expression]) -> list[str]:
    for condition in filters:
        if isinstance(condition, exp.EQ):
            sides = [condition.this, condition.expression]
            if any(isinstance(s, exp.Column) and s.name == column for s in sides):
                literals = [s for s in sides if isinstance(s, exp.Literal)]
                if literals:
                    return [literals[0].this]
        if isinstance(condition, exp.In) and isinstance(condition.this, exp.Column) \
                and condition.this.name == column and all(isinstance(e, exp.Literal) for e in condition.expressions):
            return [literal.this for literal in condition.expressions]
    return []


_UNITS = {"YEARS": "years", "MONTHS": "months", "WEEKS": "weeks", "DAYS": "days", "HOURS": "hours",
          "MINUTES": "minutes", "SECONDS": "seconds"}
_RELATIVE_DATE = re.compile(r"^\s*NOW\s*(?:([+-])\s*(\d+)\s*([A-Z]+?)S?)?\s*$", re.I)


def _projected_dates(date_range: str, java_format: str, interval: int, unit: str | None) -> list[str]:
    strftime_pattern = translate.java_date_pattern_to_strftime(java_format)
    parse_pattern = strftime_pattern.replace("%-", "%")
    if unit is None:
        unit = next((name for letters, name in (("s", "SECONDS"), ("m", "MINUTES"), ("H", "HOURS"),
                                                 ("h", "HOURS"), ("d", "DAYS"), ("M", "MONTHS"))
                     if letters in java_format.replace("'", "")), "YEARS")
    unit_name = _UNITS.get(unit.upper().rstrip("S") + "S")
    if unit_name is None:
        raise QueryError("INVALID_TABLE_PROPERTY", f"Partition projection interval unit {unit!r} is not one of "
                                                   f"{', '.join(_UNITS)}")
    start_text, end_text = (part.strip() for part in date_range.split(",", 1))
    start, end = (_projection_date(text, parse_pattern) for text in (start_text, end_text))
    dates = []
    current = start
    while current <= end and len(dates) <= MAX_PROJECTED_PARTITIONS:
        dates.append(current.strftime(strftime_pattern))
        current = _add(current, interval, unit_name)
    return dates


def _projection_date(text: str, parse_pattern: str) -> datetime.datetime:
    relative = _RELATIVE_DATE.match(text)
    if relative:
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        sign, amount, unit = relative.groups()
        if not sign:
            return now
        unit_name = _UNITS.get(unit.upper() + "S")
        if unit_name is None:
            raise QueryError("INVALID_TABLE_PROPERTY", f"Cannot read the projection date {text!r}")
        return _add(now, int(amount) * (1 if sign == "+" else -1), unit_name)
    try:
        return datetime.datetime.strptime(text, parse_pattern)
    except ValueError:
        raise QueryError("INVALID_TABLE_PROPERTY", f"The projection date {text!r} does not match the projection "
                                                   "format") from None


def _add(moment: datetime.datetime, amount: int, unit: str) -> datetime.datetime:
    if unit in ("years", "months"):
        months = moment.month - 1 + amount * (12 if unit == "years" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))
    return moment + datetime.timedelta(**{unit: amount})
