"""The Glue Data Catalog in moto's backend."""

from __future__ import annotations

from typing import Any

from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.utils import utcnow

from localcloud.moto_state import STATE_LOCK


class GlueCatalog:
    """Databases, tables and partitions in moto's Glue backend, as Glue API dicts."""

    def __init__(self, account_id: str = DEFAULT_ACCOUNT_ID, region: str = "us-east-1"):
        self.account_id = account_id
        self.region = region

    @property
    def _backend(self) -> Any:
        return get_backend("glue")[self.account_id][self.region]

    def database_names(self) -> list[str]:
        return list(self._backend.databases)

    def has_database(self, name: str) -> bool:
        return name in self._backend.databases

    def create_database(self, name: str, description: str = "") -> None:
        with STATE_LOCK:
            self._backend.create_database(name, {"Name": name, "Description": description})

    def delete_database(self, name: str) -> None:
        with STATE_LOCK:
            self._backend.delete_database(name)

    def table(self, database: str, name: str) -> dict[str, Any] | None:
        """The table as GetTable returns it, or None when the database or table does not exist."""
        db = self._backend.databases.get(database)
        table = db.tables.get(name) if db else None
        return table.as_dict() if table else None

    def tables(self, database: str) -> list[dict[str, Any]]:
        return [table.as_dict() for table in self._backend.get_tables(database, None)]

    def create_table(self, database: str, table_input: dict[str, Any]) -> None:
        with STATE_LOCK:
            self._backend.create_table(database, table_input["Name"], table_input)

    def update_table(self, database: str, table_input: dict[str, Any]) -> None:
        with STATE_LOCK:
            self._backend.update_table(database, table_input["Name"], table_input)

    def delete_table(self, database: str, name: str) -> None:
        with STATE_LOCK:
            self._backend.delete_table(database, name)

    def partitions(self, database: str, table: str) -> list[dict[str, Any]]:
        """Every partition as GetPartitions returns it (Values, StorageDescriptor, ...)."""
        fake_table = self._backend.get_table(database, table)
        return [partition.as_dict() for partition in list(fake_table.partitions.values())]

    def add_partitions(self, database: str, table: str, partition_inputs: list[dict[str, Any]]) -> int:
        """Create the partitions that do not exist yet; returns how many were new."""
        with STATE_LOCK:
            errors = self._backend.batch_create_partition(database, table, partition_inputs)
        return len(partition_inputs) - len(errors)

    def update_partitions(self, database: str, table: str, partition_inputs: list[dict[str, Any]]) -> int:
        """Replace the existing partitions whose input differs from what is stored (keeping their creation
        time, as Glue does); returns how many changed."""
        with STATE_LOCK:
            stored = self._backend.get_table(database, table).partitions
            changed = 0
            for partition_input in partition_inputs:
                partition = stored.get(str(partition_input["Values"]))
                if partition is None or partition.partition_input == partition_input:
                    continue
                created = partition.creation_time
                self._backend.update_partition(database, table, partition_input, partition_input["Values"])
                stored[str(partition_input["Values"])].creation_time = created
                changed += 1
        return changed

    def delete_partition(self, database: str, table: str, values: list[str]) -> None:
        with STATE_LOCK:
            self._backend.get_table(database, table).delete_partition(values)

    # ---- crawlers: moto stores their configuration; the Glue engine runs them ----------------------

    def crawler(self, name: str) -> dict[str, Any] | None:
        """The crawler's configuration as GetCrawler returns it (moto's State is not used), or None."""
        crawler = self._backend.crawlers.get(name)
        return crawler.as_dict() if crawler else None

    def crawler_names(self) -> list[str]:
        return list(self._backend.crawlers)

    def update_crawler(self, name: str, changes: dict[str, Any]) -> None:
        """Apply UpdateCrawler's fields (moto has no update_crawler) and bump Version and LastUpdated."""
        with STATE_LOCK:
            crawler = self._backend.crawlers[name]
            for field, value in changes.items():
                setattr(crawler, _CRAWLER_ATTRIBUTES[field], value)
            crawler.version += 1
            crawler.last_updated = utcnow()


# UpdateCrawler request fields -> moto FakeCrawler attributes.
_CRAWLER_ATTRIBUTES = {
    "Role": "role",
    "DatabaseName": "database_name",
    "Description": "description",
    "Targets": "targets",
    "Schedule": "schedule",
    "Classifiers": "classifiers",
    "TablePrefix": "table_prefix",
    "SchemaChangePolicy": "schema_change_policy",
    "RecrawlPolicy": "recrawl_policy",
    "LineageConfiguration": "lineage_configuration",
    "Configuration": "configuration",
    "CrawlerSecurityConfiguration": "crawler_security_configuration",
}
UPDATABLE_CRAWLER_FIELDS = tuple(_CRAWLER_ATTRIBUTES)
