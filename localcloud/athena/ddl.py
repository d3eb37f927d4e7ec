"""Athena's DDL and SHOW/DESCRIBE statements, carried out on the Glue Data Catalog.

CREATE DATABASE, CREATE EXTERNAL TABLE, DROP ..., CREATE VIEW (stored the way Athena stores a Presto view),
MSCK REPAIR TABLE, ALTER TABLE ADD/DROP PARTITION, SHOW ... and DESCRIBE. sqlglot parses the CREATE and
DROP statements, and its parse tree keeps what its SQL output drops (SerDe, LOCATION, TBLPROPERTIES).
It does not parse SHOW, DESCRIBE, MSCK or ALTER TABLE ... PARTITION, so those are read here from tokens.
The result shapes are Athena's: SHOW TABLES gives one column `tab_name`, DESCRIBE gives col_name,
data_type and comment, and so on.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import quote, unquote

from sqlglot import exp

from localcloud.athena.formatting import VARCHAR_PRECISION, ResultColumn
from localcloud.athena.scan import CatalogTable, split_s3_uri
from localcloud.athena.query_error import QueryError
from localcloud.athena.translate import SqlText, not_supported
from localcloud.moto_state.glue import GlueCatalog
from localcloud.moto_state.s3 import S3Objects

JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
TEXT_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
STORAGE_FORMATS = {  # format -> (SerDe, InputFormat, OutputFormat)
    "json": (JSON_SERDE, TEXT_INPUT, TEXT_OUTPUT),
    "parquet": (PARQUET_SERDE, PARQUET_INPUT, PARQUET_OUTPUT),
    "textfile": (TEXT_SERDE, TEXT_INPUT, TEXT_OUTPUT),
}
PRESTO_VIEW = re.compile(r"/\*\s*Presto View:\s*(?P<encoded>[A-Za-z0-9+/=\s]+?)\s*\*/", re.S)
_FIRST_WORD = re.compile(r"(?:\s|--[^\n]*\n?|/\*.*?\*/|\()*([A-Za-z]+)", re.S)
COMMAND_KEYWORDS = ("SHOW", "DESCRIBE", "DESC", "MSCK", "ALTER", "EXPLAIN", "UNLOAD")


@dataclass
class CatalogResult:
    """What a catalog statement returns; the engine turns it into a QueryOutcome."""

    statement_type: str          # DDL or UTILITY
    substatement_type: str
    columns: list[ResultColumn] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)


def varchar_columns(*names: str) -> list[ResultColumn]:
    return [ResultColumn(name, "varchar", VARCHAR_PRECISION, 0) for name in names]


def command_keyword(sql: str) -> str | None:
    """SHOW, DESCRIBE, MSCK, ALTER, EXPLAIN or UNLOAD when sql starts with one (sqlglot leaves these unparsed)."""
    first = _FIRST_WORD.match(sql)
    keyword = first.group(1).upper() if first else None
    return keyword if keyword in COMMAND_KEYWORDS else None


# ---- the Glue table an Athena DDL statement describes ---------------------------------------------

def glue_type_text(kind: exp.DataType) -> str:
    """A column type from DDL, as Glue stores it: struct<a:int,b:array<string>>, decimal(10,2)."""
    text = kind.sql(dialect="hive").lower()
    return re.sub(r"\s*([<>(),:])\s*", r"\1", text)


def table_input(name: str, columns: list[tuple[str, str]], partition_keys: list[tuple[str, str]], location: str,
                storage: tuple[str, str, str], *, parameters: dict[str, str] | None = None,
                serde_parameters: dict[str, str] | None = None, comment: str = "") -> dict[str, Any]:
    """A Glue TableInput for an external table, as Athena's CREATE EXTERNAL TABLE and CTAS write it.

    `storage` is (SerDe, InputFormat, OutputFormat), for example STORAGE_FORMATS["parquet"].
    """
    library, input_format, output_format = storage
    table: dict[str, Any] = {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"EXTERNAL": "TRUE", **(parameters or {})},
        "PartitionKeys": [{"Name": key, "Type": kind} for key, kind in partition_keys],
        "StorageDescriptor": {
            "Columns": [{"Name": column, "Type": kind} for column, kind in columns],
            "Location": location,
            "InputFormat": input_format,
            "OutputFormat": output_format,
            "SerdeInfo": {"SerializationLibrary": library, "Parameters": serde_parameters or {}},
            "Compressed": False,
            "NumberOfBuckets": -1,
        },
    }
    if comment:
        table["Description"] = comment
    return table


def partition_input(table: dict[str, Any], values: list[str], location: str) -> dict[str, Any]:
    """A Glue PartitionInput: the table's storage descriptor with the partition's location."""
    descriptor = dict(table.get("StorageDescriptor") or {})
    descriptor["Location"] = location
    return {"Values": values, "StorageDescriptor": descriptor}


def hive_partition_path(names: list[str], values: list[str]) -> str:
    """`year=2024/month=01/`: the folder Hive (and MSCK REPAIR TABLE) expects for a partition."""
    return "".join(f"{name}={quote(value, safe=' ')}/" for name, value in zip(names, values))


def view_sql(table: CatalogTable) -> tuple[str, str]:
    """(SQL, default schema) of a view, from Athena's `/* Presto View: <base64 JSON> */` or plain text."""
    match = PRESTO_VIEW.search(table.view_text)
    if match is None:
        return table.view_text, table.database
    definition = json.loads(base64.b64decode(match.group("encoded")))
    return definition["originalSql"], definition.get("schema") or table.database


class CatalogStatements:
    """Runs catalog statements against the Glue catalog (and S3, for MSCK REPAIR TABLE)."""

    def __init__(self, catalog: GlueCatalog, storage: S3Objects):
        self.catalog = catalog
        self.storage = storage

    # -- lookups shared with the engine --

    def require_database(self, database: str, text: SqlText, node: exp.Expression | None = None,
                         where: str | None = None) -> None:
        if not self.catalog.has_database(database):
            position = where or (text.of(node) if node is not None else "line 1:1")
            raise QueryError("SCHEMA_NOT_FOUND", f"{position}: Schema '{database}' does not exist")

    def require_table(self, database: str, name: str, text: SqlText, where: str) -> dict[str, Any]:
        self.require_database(database, text, where=where)
        table = self.catalog.table(database, name)
        if table is None:
            raise QueryError("TABLE_NOT_FOUND", f"{where}: Table 'awsdatacatalog.{database}.{name}' does not exist")
        return table

    # -- statements sqlglot parses --

    def run_parsed(self, statement: exp.Expression, database: str, text: SqlText) -> CatalogResult:
        if isinstance(statement, exp.Create) and statement.kind in ("DATABASE", "SCHEMA"):
            return self._create_database(statement)
        if isinstance(statement, exp.Create) and statement.kind == "TABLE":
            return self._create_external_table(statement, database, text)
        if isinstance(statement, exp.Drop) and statement.kind in ("DATABASE", "SCHEMA"):
            return self._drop_database(statement, text)
        if isinstance(statement, exp.Drop) and statement.kind in ("TABLE", "VIEW"):
            return self._drop_table(statement, database, text)
        words = statement.name if isinstance(statement, exp.Command) else \
            f"{statement.key.upper()} {statement.args.get('kind') or ''}".strip()
        raise not_supported(f"The statement {words}")

    def _create_database(self, statement: exp.Create) -> CatalogResult:
        target = statement.this
        name = (target.name or target.db).lower()
        if self.catalog.has_database(name):
            if not statement.args.get("exists"):
                raise QueryError("SCHEMA_ALREADY_EXISTS", f"Schema '{name}' already exists. Use CREATE DATABASE "
                                                          f"IF NOT EXISTS {name} to skip an existing one.")
        else:
            comment = statement.find(exp.SchemaCommentProperty)
            self.catalog.create_database(name, comment.name if comment else "")
        return CatalogResult("DDL", "CREATE_DATABASE")

    def _drop_database(self, statement: exp.Drop, text: SqlText) -> CatalogResult:
        target = statement.this if statement.this is not None else statement.args["tables"][0]
        name = (target.name or target.db).lower()
        if not self.catalog.has_database(name):
            if statement.args.get("exists"):
                return CatalogResult("DDL", "DROP_DATABASE")
            raise QueryError("SCHEMA_NOT_FOUND", f"{text.of(target)}: Schema '{name}' does not exist")
        tables = self.catalog.tables(name)
        if tables and not statement.args.get("cascade"):
            raise QueryError("SCHEMA_NOT_EMPTY", f"Database {name} is not empty. One or more tables exist. "
                                                 f"Use DROP DATABASE {name} CASCADE to drop it with its tables.")
        for table in tables:
            self.catalog.delete_table(name, table["Name"])
        self.catalog.delete_database(name)
        return CatalogResult("DDL", "DROP_DATABASE")

    def _create_external_table(self, statement: exp.Create, database: str, text: SqlText) -> CatalogResult:
        schema = statement.this
        target = schema.this
        db, name = (target.db or database).lower(), target.name.lower()
        self.require_database(db, text, target)
        properties = statement.args.get("properties")
        found = {type(p): p for p in (properties.expressions if properties else [])}
        table_properties = {p.name: p.args["value"].name for p in (properties.expressions if properties else [])
                            if type(p) is exp.Property and isinstance(p.this, exp.Literal)}
        if exp.ExternalProperty not in found:
            raise QueryError("NOT_SUPPORTED", "Only external table creation is supported. Use CREATE EXTERNAL "
                                              "TABLE ... LOCATION 's3://bucket/prefix/'.", error_type=1001)
        if table_properties.get("table_type", "").upper() == "ICEBERG":
            raise not_supported("An Iceberg table")
        if self.catalog.table(db, name) is not None:
            if statement.args.get("exists"):
                return CatalogResult("DDL", "CREATE_TABLE")
            raise QueryError("ALREADY_EXISTS", f"Table {db}.{name} already exists. Use CREATE EXTERNAL TABLE IF NOT "
                                               f"EXISTS, or DROP TABLE {db}.{name} first.")
        location_property = found.get(exp.LocationProperty)
        if location_property is None:
            raise QueryError("SYNTAX_ERROR", f"{text.of(target)}: CREATE EXTERNAL TABLE needs LOCATION "
                                             "'s3://bucket/prefix/'")
        location = location_property.this.name
        split_s3_uri(location)
        partitioned = found.get(exp.PartitionedByProperty)
        partition_keys = [(column.name.lower(), glue_type_text(column.args["kind"]))
                          for column in (partitioned.this.expressions if partitioned else [])]
        columns = [(column.name.lower(), glue_type_text(column.args["kind"])) for column in schema.expressions]
        serde, serde_parameters = _storage_of(found)
        comment = found.get(exp.SchemaCommentProperty)
        self.catalog.create_table(db, table_input(
            name, columns, partition_keys, location, serde, parameters=table_properties,
            serde_parameters=serde_parameters, comment=comment.name if comment else ""))
        return CatalogResult("DDL", "CREATE_TABLE")

    def _drop_table(self, statement: exp.Drop, database: str, text: SqlText) -> CatalogResult:
        target = statement.this if statement.this is not None else statement.args["tables"][0]
        db, name = (target.db or database).lower(), target.name.lower()
        substatement = f"DROP_{statement.kind}"
        if self.catalog.table(db, name) is None:
            if statement.args.get("exists"):
                return CatalogResult("DDL", substatement)
            kind = "View" if statement.kind == "VIEW" else "Table"
            self.require_database(db, text, target)
            raise QueryError("TABLE_NOT_FOUND", f"{text.of(target)}: {kind} 'awsdatacatalog.{db}.{name}' does not "
                                                "exist")
        self.catalog.delete_table(db, name)
        return CatalogResult("DDL", substatement)

    # -- tables the engine creates --

    def create_view(self, database: str, name: str, sql: str, columns: list[tuple[str, str, str]],
                    replace: bool) -> None:
        """Store a view as Athena does: a VIRTUAL_VIEW table whose ViewOriginalText encodes the Presto view."""
        definition = {
            "originalSql": sql, "catalog": "awsdatacatalog", "schema": database,
            "columns": [{"name": column, "type": athena_type} for column, athena_type, _ in columns],
            "owner": "localcloud", "runAsInvoker": False, "properties": {},
        }
        encoded = base64.b64encode(json.dumps(definition).encode()).decode()
        view = {
            "Name": name,
            "TableType": "VIRTUAL_VIEW",
            "Parameters": {"presto_view": "true", "comment": "Presto View"},
            "ViewOriginalText": f"/* Presto View: {encoded} */",
            "ViewExpandedText": "/* Presto View */",
            "PartitionKeys": [],
            "StorageDescriptor": {
                "Columns": [{"Name": column, "Type": glue} for column, _, glue in columns],
                "Location": "", "InputFormat": "", "OutputFormat": "",
                "SerdeInfo": {}, "Compressed": False, "NumberOfBuckets": 0,
            },
        }
        if replace and self.catalog.table(database, name) is not None:
            self.catalog.update_table(database, view)
        else:
            self.catalog.create_table(database, view)

    def add_partitions(self, database: str, name: str, partitions: list[tuple[list[str], str]]) -> int:
        """Add (values, location) partitions that do not exist yet; returns how many were new."""
        table = self.catalog.table(database, name)
        existing = {tuple(p["Values"]) for p in self.catalog.partitions(database, name)}
        new = [partition_input(table, values, location) for values, location in partitions
               if tuple(values) not in existing]
        return self.catalog.add_partitions(database, name, new) if new else 0

    # -- statements read from tokens --

    def run_command(self, sql: str, database: str, text: SqlText) -> CatalogResult:
        tokens = _Tokens(sql)
        keyword = tokens.word()
        if keyword == "SHOW":
            return self._show(tokens, database, text)
        if keyword in ("DESCRIBE", "DESC"):
            tokens.accept("EXTENDED", "FORMATTED")
            db, name, where = tokens.table_name(database)
            return self._describe(db, name, text, where)
        if keyword == "MSCK":
            tokens.expect("REPAIR")
            tokens.expect("TABLE")
            db, name, where = tokens.table_name(database)
            tokens.end()
            return self._repair(db, name, text, where)
        if keyword == "ALTER":
            tokens.expect("TABLE")
            db, name, where = tokens.table_name(database)
            return self._alter(tokens, db, name, text, where)
        raise not_supported(keyword)

    def _show(self, tokens: "_Tokens", database: str, text: SqlText) -> CatalogResult:
        what = tokens.word()
        if what in ("DATABASES", "SCHEMAS"):
            pattern = tokens.pattern()
            names = sorted(name for name in self.catalog.database_names() if _matches(pattern, name))
            return CatalogResult("UTILITY", "SHOW_DATABASES", varchar_columns("database_name"), [[n] for n in names])
        if what in ("TABLES", "VIEWS"):
            db = database
            if tokens.accept("IN", "FROM"):
                db = tokens.name().lower()
            where = tokens.last_location(text)
            pattern = tokens.pattern()
            self.require_database(db, text, where=where)
            tables = self.catalog.tables(db)
            names = sorted(t["Name"] for t in tables if _matches(pattern, t["Name"])
                           and (what == "TABLES" or t.get("TableType") == "VIRTUAL_VIEW"))
            column = "tab_name" if what == "TABLES" else "views"
            return CatalogResult("UTILITY", f"SHOW_{what}", varchar_columns(column), [[n] for n in names])
        if what == "PARTITIONS":
            db, name, where = tokens.table_name(database)
            table = CatalogTable.from_glue(db, self.require_table(db, name, text, where))
            keys = [key for key, _ in table.partition_keys]
            if not keys:
                raise QueryError("NOT_SUPPORTED", f"Table {db}.{name} is not partitioned", error_type=1001)
            values = sorted(tuple(p["Values"]) for p in self.catalog.partitions(db, name))
            rows = [[hive_partition_path(keys, list(v)).rstrip("/")] for v in values]
            return CatalogResult("UTILITY", "SHOW_PARTITIONS", varchar_columns("partition"), rows)
        if what == "COLUMNS":
            tokens.expect("IN", "FROM")
            db, name, where = tokens.table_name(database)
            if tokens.accept("IN", "FROM"):
                db = tokens.name().lower()
            table = CatalogTable.from_glue(db, self.require_table(db, name, text, where))
            rows = [[column] for column, _ in table.columns + table.partition_keys]
            return CatalogResult("UTILITY", "SHOW_COLUMNS", varchar_columns("field"), rows)
        if what == "CREATE":
            kind = tokens.expect("TABLE", "VIEW")
            db, name, where = tokens.table_name(database)
            table = CatalogTable.from_glue(db, self.require_table(db, name, text, where))
            if kind == "VIEW":
                sql, _ = view_sql(table)
                return CatalogResult("UTILITY", "SHOW_CREATE_VIEW", varchar_columns("Create View"),
                                     [[line] for line in f"CREATE VIEW {db}.{name} AS\n{sql}".splitlines()])
            glue_table = self.catalog.table(db, name)
            return CatalogResult("UTILITY", "SHOW_CREATE_TABLE", varchar_columns("createtab_stmt"),
                                 [[line] for line in _create_table_text(glue_table, db)])
        if what == "TBLPROPERTIES":
            db, name, where = tokens.table_name(database)
            table = self.require_table(db, name, text, where)
            wanted = None
            if tokens.accept("("):
                wanted = tokens.string()
                tokens.expect(")")
            rows = [[key, value] for key, value in sorted((table.get("Parameters") or {}).items())
                    if wanted is None or key == wanted]
            return CatalogResult("UTILITY", "SHOW_TBLPROPERTIES", varchar_columns("prpt_name", "prpt_value"), rows)
        raise not_supported(f"SHOW {what}")

    def _describe(self, db: str, name: str, text: SqlText, where: str) -> CatalogResult:
        table = self.require_table(db, name, text, where)
        descriptor = table.get("StorageDescriptor") or {}
        columns = descriptor.get("Columns") or []
        keys = table.get("PartitionKeys") or []
        rows = [_describe_row(column) for column in columns + keys]
        if keys:
            rows += [["", "", ""], ["# Partition Information", "", ""],
                     [_pad("# col_name"), _pad("data_type"), _pad("comment")], ["", "", ""]]
            rows += [_describe_row(key) for key in keys]
        return CatalogResult("UTILITY", "DESCRIBE_TABLE", varchar_columns("col_name", "data_type", "comment"), rows)

    def _repair(self, db: str, name: str, text: SqlText, where: str) -> CatalogResult:
        """MSCK REPAIR TABLE: add a partition for every key=value/... folder under the table's location."""
        table = CatalogTable.from_glue(db, self.require_table(db, name, text, where))
        keys = [key for key, _ in table.partition_keys]
        if not keys:
            return CatalogResult("DDL", "MSCK_REPAIR_TABLE")
        bucket, prefix = split_s3_uri(table.location.rstrip("/") + "/")
        found: dict[tuple[str, ...], str] = {}
        for info in self.storage.list(bucket, prefix):
            folders = info.key[len(prefix):].split("/")[:-1]
            if len(folders) < len(keys):
                continue
            pairs = [folder.partition("=") for folder in folders[:len(keys)]]
            if all(sep and key.lower() == expected for (key, sep, _), expected in zip(pairs, keys)):
                values = tuple(unquote(value) for _, _, value in pairs)
                found[values] = f"s3://{bucket}/{prefix}{'/'.join(folders[:len(keys)])}/"
        existing = {tuple(p["Values"]) for p in self.catalog.partitions(db, name)}
        missing = sorted(values for values in found if values not in existing)
        self.add_partitions(db, name, [(list(values), found[values]) for values in missing])
        paths = [f"{name}:{hive_partition_path(keys, list(values)).rstrip('/')}" for values in missing]
        rows = [["Partitions not in metastore:\t" + "\t".join(paths)]] if paths else []
        rows += [[f"Repair: Added partition to metastore {path}"] for path in paths]
        return CatalogResult("DDL", "MSCK_REPAIR_TABLE", varchar_columns("result") if rows else [], rows)

    def _alter(self, tokens: "_Tokens", db: str, name: str, text: SqlText, where: str) -> CatalogResult:
        table = self.require_table(db, name, text, where)
        keys = [key["Name"].lower() for key in table.get("PartitionKeys") or []]
        action = tokens.word()
        if action == "ADD" and tokens.peek_word() == "COLUMNS":
            tokens.word()
            added = tokens.column_definitions()
            descriptor = dict(table["StorageDescriptor"])
            descriptor["Columns"] = list(descriptor.get("Columns") or []) + [
                {"Name": column, "Type": kind} for column, kind in added]
            self.catalog.update_table(db, _updated(table, StorageDescriptor=descriptor))
            return CatalogResult("DDL", "ALTER_TABLE_ADD_COLUMNS")
        if action == "SET":
            tokens.expect("TBLPROPERTIES")
            parameters = {**(table.get("Parameters") or {}), **tokens.properties()}
            self.catalog.update_table(db, _updated(table, Parameters=parameters))
            return CatalogResult("DDL", "ALTER_TABLE_SET_TBLPROPERTIES")
        if action == "ADD":
            if_not_exists = tokens.accept("IF") and tokens.expect("NOT") and tokens.expect("EXISTS")
            partitions = []
            while tokens.accept("PARTITION"):
                values = _partition_values(tokens.partition_spec(), keys, text, where)
                location = table["StorageDescriptor"]["Location"].rstrip("/") + "/" + hive_partition_path(keys, values)
                if tokens.accept("LOCATION"):
                    location = tokens.string()
                partitions.append((values, location))
            tokens.end()
            existing = {tuple(p["Values"]) for p in self.catalog.partitions(db, name)}
            duplicates = [values for values, _ in partitions if tuple(values) in existing]
            if duplicates and not if_not_exists:
                raise QueryError("ALREADY_EXISTS", f"Partition {hive_partition_path(keys, duplicates[0]).rstrip('/')} "
                                                   f"already exists in {db}.{name}. Use ADD IF NOT EXISTS PARTITION.")
            self.add_partitions(db, name, partitions)
            return CatalogResult("DDL", "ALTER_TABLE_ADD_PARTITION")
        if action == "DROP":
            if_exists = tokens.accept("IF") and tokens.expect("EXISTS")
            existing = {tuple(p["Values"]) for p in self.catalog.partitions(db, name)}
            while tokens.accept("PARTITION"):
                values = _partition_values(tokens.partition_spec(), keys, text, where)
                if tuple(values) in existing:
                    self.catalog.delete_partition(db, name, values)
                elif not if_exists:
                    raise QueryError("PARTITION_NOT_FOUND", f"Partition {hive_partition_path(keys, values).rstrip('/')} "
                                                            f"does not exist in {db}.{name}")
                tokens.accept(",")
            tokens.end()
            return CatalogResult("DDL", "ALTER_TABLE_DROP_PARTITION")
        raise not_supported(f"ALTER TABLE ... {action}")


def _updated(table: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A TableInput from a GetTable dict, with some fields replaced (UpdateTable takes the whole table)."""
    allowed = ("Name", "Description", "Owner", "Retention", "StorageDescriptor", "PartitionKeys", "ViewOriginalText",
               "ViewExpandedText", "TableType", "Parameters")
    return {**{key: table[key] for key in allowed if key in table}, **changes}


def _storage_of(found: dict[type, exp.Expression]) -> tuple[tuple[str, str, str], dict[str, str]]:
    """(SerDe, InputFormat, OutputFormat) and SerDe parameters from ROW FORMAT / STORED AS."""
    serde_property = found.get(exp.RowFormatSerdeProperty)
    file_format = found.get(exp.FileFormatProperty)
    delimited = found.get(exp.RowFormatDelimitedProperty)
    library, input_format, output_format = STORAGE_FORMATS["textfile"]
    parameters: dict[str, str] = {}
    if file_format is not None:
        if isinstance(file_format.this, exp.InputOutputFormat):
            input_format = file_format.this.args["input_format"].name
            output_format = file_format.this.args["output_format"].name
        elif file_format.name.lower() in STORAGE_FORMATS:
            library, input_format, output_format = STORAGE_FORMATS[file_format.name.lower()]
        else:
            raise not_supported(f"STORED AS {file_format.name}")
    if serde_property is not None:
        library = serde_property.this.name
        serde_parameters = serde_property.args.get("serde_properties")
        parameters = {p.name: p.args["value"].name for p in (serde_parameters.expressions if serde_parameters else [])}
    if delimited is not None and delimited.args.get("fields") is not None:
        parameters["field.delim"] = delimited.args["fields"].name
    return (library, input_format, output_format), parameters


def _partition_values(spec: dict[str, str], keys: list[str], text: SqlText, where: str) -> list[str]:
    if sorted(spec) != sorted(keys):
        raise QueryError("INVALID_PARTITION_VALUE" if spec else "SYNTAX_ERROR",
                         f"{where}: The partition spec ({', '.join(spec)}) must name every partition column "
                         f"({', '.join(keys)})")
    return [spec[key] for key in keys]


def _pad(value: str) -> str:
    return value.ljust(20)


def _describe_row(column: dict[str, Any]) -> list[str | None]:
    return [_pad(column["Name"]), _pad(column["Type"]), _pad(column.get("Comment") or "")]


def _create_table_text(table: dict[str, Any], database: str) -> list[str]:
    """SHOW CREATE TABLE: the DDL that makes the table, one line per row, as Athena prints it."""
    descriptor = table.get("StorageDescriptor") or {}
    serde = descriptor.get("SerdeInfo") or {}

    def column_lines(columns: list[dict[str, Any]]) -> list[str]:
        return [f"  `{c['Name']}` {c['Type']}" + (", " if i < len(columns) - 1 else ")") for i, c in enumerate(columns)]

    lines = [f"CREATE EXTERNAL TABLE `{database}`.`{table['Name']}`("] + column_lines(descriptor.get("Columns") or [])
    if table.get("PartitionKeys"):
        lines += ["PARTITIONED BY ( "] + column_lines(table["PartitionKeys"])
    lines += ["ROW FORMAT SERDE ", f"  '{serde.get('SerializationLibrary', '')}' "]
    if serde.get("Parameters"):
        pairs = [f"  '{k}'='{v}'" for k, v in sorted(serde["Parameters"].items())]
        lines += ["WITH SERDEPROPERTIES ( "] + [p + ("," if i < len(pairs) - 1 else ") ") for i, p in enumerate(pairs)]
    lines += ["STORED AS INPUTFORMAT ", f"  '{descriptor.get('InputFormat', '')}' ", "OUTPUTFORMAT ",
              f"  '{descriptor.get('OutputFormat', '')}'", "LOCATION", f"  '{descriptor.get('Location', '')}'"]
    properties = [f"  '{k}'='{v}'" for k, v in sorted((table.get("Parameters") or {}).items()) if k != "EXTERNAL"]
    if properties:
        lines += ["TBLPROPERTIES ("] + [p + ("," if i < len(properties) - 1 else ")") for i, p in enumerate(properties)]
    return lines


def _matches(pattern: str | None, name: str) -> bool:
    """Hive's SHOW pattern: `*` matches anything, `|` separates alternatives, case-insensitive."""
    if pattern is None:
        return True
    alternatives = "|".join(re.escape(part.strip()).replace(r"\*", ".*") for part in pattern.split("|"))
    return re.fullmatch(alternatives, name, re.I) is not None


# ---- tokens of the statements sqlglot does not parse ---------------------------------------------

_TOKEN = re.compile(r"\s*(?:--[^\n]*|/\*.*?\*/)*\s*(?:'(?P<string>(?:[^']|'')*)'|`(?P<backtick>[^`]*)`"
                    r'|"(?P<quoted>(?:[^"]|"")*)"|(?P<word>[A-Za-z_$][\w$]*|\d+)|(?P<symbol>[^\s\w]))', re.S)


@dataclass
class _Token:
    kind: str   # string, name (quoted identifier), word, symbol
    text: str
    offset: int


class _Tokens:
    """A cursor over the tokens of a SHOW / DESCRIBE / MSCK / ALTER statement."""

    def __init__(self, sql: str):
        self.sql = sql
        self.tokens = list(self._tokenize(sql))
        self.position = 0

    @staticmethod
    def _tokenize(sql: str) -> Iterator[_Token]:
        offset = 0
        while offset < len(sql):
            match = _TOKEN.match(sql, offset)
            if match is None or match.end() == offset:
                return
            offset = match.end()
            kind = match.lastgroup
            if kind is None:
                return
            value, start = match.group(kind), match.start(kind)
            if kind == "string":
                value = value.replace("''", "'")
            if kind in ("backtick", "quoted"):
                kind = "name"
            if kind == "symbol" and value == ";":
                continue
            yield _Token(kind, value, start)

    def _peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def peek_word(self) -> str | None:
        token = self._peek()
        return token.text.upper() if token and token.kind == "word" else None

    def _syntax_error(self, expected: str) -> QueryError:
        token = self._peek()
        offset = token.offset if token else len(self.sql.rstrip().rstrip(";"))
        shown = token.text if token else "<EOF>"
        return QueryError("SYNTAX_ERROR", f"{SqlText(self.sql).at(offset)}: mismatched input '{shown}'. "
                                          f"Expecting: {expected}")

    def last_location(self, text: SqlText) -> str:
        token = self.tokens[self.position - 1] if self.position else None
        return text.at(token.offset if token else 0)

    def word(self) -> str:
        token = self._peek()
        if token is None or token.kind != "word":
            raise self._syntax_error("a keyword")
        self.position += 1
        return token.text.upper()

    def accept(self, *options: str) -> str | None:
        token = self._peek()
        if token and token.kind in ("word", "symbol") and token.text.upper() in options:
            self.position += 1
            return token.text.upper()
        return None

    def expect(self, *options: str) -> str:
        found = self.accept(*options)
        if found is None:
            raise self._syntax_error(" or ".join(f"'{option}'" for option in options))
        return found

    def name(self) -> str:
        token = self._peek()
        if token is None or token.kind not in ("word", "name"):
            raise self._syntax_error("<identifier>")
        self.position += 1
        return token.text

    def string(self) -> str:
        token = self._peek()
        if token is None or token.kind != "string":
            raise self._syntax_error("<string>")
        self.position += 1
        return token.text

    def table_name(self, database: str) -> tuple[str, str, str]:
        """(database, table, location of the name) for `[db.]table`."""
        token = self._peek()
        where = SqlText(self.sql).at(token.offset) if token else "line 1:1"
        first = self.name()
        if self.accept("."):
            return first.lower(), self.name().lower(), where
        return database, first.lower(), where

    def pattern(self) -> str | None:
        self.accept("LIKE")
        token = self._peek()
        return self.string() if token and token.kind == "string" else None

    def partition_spec(self) -> dict[str, str]:
        """`(key='value', key2=3)`."""
        self.expect("(")
        spec = {}
        while True:
            key = self.name().lower()
            self.expect("=")
            token = self._peek()
            if token is None or token.kind not in ("string", "word"):
                raise self._syntax_error("<partition value>")
            self.position += 1
            spec[key] = token.text
            if self.expect(",", ")") == ")":
                return spec

    def properties(self) -> dict[str, str]:
        """`('key'='value', ...)`."""
        self.expect("(")
        found = {}
        while True:
            key = self.string()
            self.expect("=")
            found[key] = self.string()
            if self.expect(",", ")") == ")":
                return found

    def column_definitions(self) -> list[tuple[str, str]]:
        """`(name type, ...)` with Hive types such as struct<a:int>."""
        self.expect("(")
        columns = []
        while True:
            name = self.name().lower()
            parts, depth = [], 0
            while True:
                token = self._peek()
                if token is None:
                    raise self._syntax_error("')'")
                if depth == 0 and token.text in (",", ")"):
                    break
                depth += {"<": 1, "(": 1, ">": -1, ")": -1}.get(token.text, 0)
                parts.append(token.text.lower())
                self.position += 1
            columns.append((name, "".join(parts)))
            if self.expect(",", ")") == ")":
                return columns

    def end(self) -> None:
        if self._peek() is not None:
            raise self._syntax_error("<EOF>")
