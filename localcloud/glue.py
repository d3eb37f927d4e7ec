"""GlueEngine: classifiers, and crawler runs that really crawl S3.

moto keeps the crawlers' configuration (CreateCrawler, GetCrawler, tags) and the Data Catalog, but
it has no classifiers, no UpdateCrawler or GetCrawlerMetrics, and its StartCrawler never finishes
and crawls nothing. This engine answers those operations itself. A crawl lists each S3 target,
infers one table per target with `glue_schema`, and writes the table and its partitions following
the crawler's SchemaChangePolicy and RecrawlPolicy, going RUNNING -> STOPPING -> READY as on AWS.
Its log lines go to CloudWatch Logs (/aws-glue/crawlers, one stream per crawler).

Classifiers and crawl history live in memory, as long as moto's own state does.
"""

from __future__ import annotations

import logging
import re
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from localcloud.errors import (
    AlreadyExistsException,
    CrawlerNotRunningException,
    CrawlerRunningException,
    CrawlerStoppingException,
    EntityNotFoundException,
    InvalidInputException,
)
from localcloud.foreground import ENGINE_USER_AGENT
from localcloud.glue_schema import (
    FolderLayout,
    JsonPath,
    JsonPathError,
    TableDefinition,
    exclusion_matcher,
    read_json_object,
    table_name,
)
from localcloud.moto_state.glue import UPDATABLE_CRAWLER_FIELDS, GlueCatalog
from localcloud.moto_state.s3 import S3Objects, S3ObjectInfo
from localcloud.router import AwsRequest, RawResponse, Router

log = logging.getLogger("localcloud.glue")

# Real crawls take a minute; these keep the phases visible to a polling notebook without the wait.
RUNNING_AT_LEAST_SECONDS = 0.3
STOPPING_SECONDS = 0.2
LOG_GROUP = "/aws-glue/crawlers"
CLASSIFIER_KINDS = ("GrokClassifier", "XMLClassifier", "JsonClassifier", "CsvClassifier")
DEFAULT_SCHEMA_CHANGE_POLICY = {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "DEPRECATE_IN_DATABASE"}
DEFAULT_RECRAWL_POLICY = {"RecrawlBehavior": "CRAWL_EVERYTHING"}
DEFAULT_LINEAGE_CONFIGURATION = {"CrawlerLineageSettings": "DISABLE"}
# The keys of a GetTable answer that UpdateTable takes back (moto adds DatabaseName, VersionId, ...).
TABLE_INPUT_KEYS = ("Name", "Owner", "Retention", "PartitionKeys", "TableType", "CreatedBy",
                    "IsRegisteredWithLakeFormation")
S3_PATH = re.compile(r"^s3://(?P<bucket>[^/]+)/?(?P<prefix>.*)$")


def _now() -> datetime:
    return datetime.now(timezone.utc)


class CrawlFailure(Exception):
    """Ends a crawl as FAILED; the message becomes LastCrawl.ErrorMessage, so it says what to fix."""


@dataclass
class CrawlRun:
    """One StartCrawler: its phase, its outcome and the log lines it produced."""

    crawl_id: str
    started: datetime = field(default_factory=_now)
    state: str = "RUNNING"  # RUNNING | STOPPING | READY
    status: str | None = None  # SUCCEEDED | FAILED | CANCELLED once the work has ended
    error_message: str | None = None
    finished: datetime | None = None
    tables_created: int = 0
    tables_updated: int = 0
    tables_deleted: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)
    log_lines: list[tuple[int, str]] = field(default_factory=list)  # (epoch ms, message)

    def note(self, level: str, message: str) -> None:
        self.log_lines.append((int(time.time() * 1000), f"[{self.crawl_id}] {level} : {message}"))

    def runtime_seconds(self) -> float:
        return ((self.finished or _now()) - self.started).total_seconds()

    def last_crawl(self, crawler_name: str) -> dict[str, Any]:
        info = {"Status": self.status, "LogGroup": LOG_GROUP, "LogStream": crawler_name,
                "MessagePrefix": self.crawl_id, "StartTime": self.started}
        if self.error_message:
            info["ErrorMessage"] = self.error_message
        return info


@dataclass
class CrawlerHistory:
    """Every run of one crawler, and the folders its successful runs have seen (for CRAWL_NEW_FOLDERS_ONLY)."""

    runs: list[CrawlRun] = field(default_factory=list)
    crawled_folders: set[str] = field(default_factory=set)

    def current(self) -> CrawlRun | None:
        return self.runs[-1] if self.runs and self.runs[-1].state != "READY" else None

    def finished(self) -> list[CrawlRun]:
        return [run for run in self.runs if run.state == "READY"]


@dataclass
class TargetResult:
    """What one S3 target holds now: its table name and location, and the table if there is data."""

    name: str
    location: str
    table: TableDefinition | None


class GlueEngine:
    name = "glue"

    def __init__(self, state_dir: Path):
        """state_dir is not used: classifiers and crawl history live in memory, as long as moto's state does."""
        self._lock = threading.RLock()
        self._classifiers: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
        self._histories: dict[tuple[str, str, str], CrawlerHistory] = {}
        self._threads: list[threading.Thread] = []
        self._endpoint_url: str | None = None
        self._logs_clients: dict[str, Any] = {}

    # ---- engine lifecycle ----------------------------------------------------------------------

    def register(self, router: Router) -> None:
        router.register_all("glue", {
            "CreateClassifier": self.create_classifier,
            "GetClassifier": self.get_classifier,
            "GetClassifiers": self.get_classifiers,
            "UpdateClassifier": self.update_classifier,
            "DeleteClassifier": self.delete_classifier,
            "CreateCrawler": self.create_crawler,
            "UpdateCrawler": self.update_crawler,
            "DeleteCrawler": self.delete_crawler,
            "GetCrawler": self.get_crawler,
            "GetCrawlers": self.get_crawlers,
            "BatchGetCrawlers": self.get_crawlers,
            "StartCrawler": self.start_crawler,
            "StopCrawler": self.stop_crawler,
            "GetCrawlerMetrics": self.get_crawler_metrics,
        })

    def start(self, endpoint_url: str) -> None:
        self._endpoint_url = endpoint_url
        self._logs_clients.clear()

    def stop(self) -> None:
        """Let running crawls finish (they take well under a second), so none is left half-written."""
        with self._lock:
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout=10)

    def reset(self) -> None:
        with self._lock:
            self._classifiers.clear()
            self._histories.clear()

    # ---- classifiers ---------------------------------------------------------------------------

    def create_classifier(self, request: AwsRequest) -> dict[str, Any]:
        kind, spec = _classifier_in(request.params)
        _validate_classifier(kind, spec)
        classifiers = self._classifier_store(request)
        with self._lock:
            if spec["Name"] in classifiers:
                raise AlreadyExistsException(
                    f"Classifier {spec['Name']} already exists. Change it with update_classifier, "
                    "or delete it first with delete_classifier.")
            now = _now()
            classifiers[spec["Name"]] = {kind: {**spec, "CreationTime": now, "LastUpdated": now, "Version": 1}}
        return {}

    def get_classifier(self, request: AwsRequest) -> dict[str, Any]:
        with self._lock:
            return {"Classifier": self._classifier(request, request.params.get("Name", ""))}

    def get_classifiers(self, request: AwsRequest) -> dict[str, Any]:
        with self._lock:
            store = self._classifier_store(request)
            classifiers = [store[name] for name in sorted(store)]
        return _page("Classifiers", classifiers, request.params)

    def update_classifier(self, request: AwsRequest) -> dict[str, Any]:
        kind, changes = _classifier_in(request.params)
        with self._lock:
            current = self._classifier(request, changes["Name"])
            if kind not in current:
                stored_kind = next(iter(current))
                raise InvalidInputException(
                    f"Classifier {changes['Name']} is a {stored_kind}, so update it with {stored_kind}={{...}} "
                    f"instead of {kind}.")
            updated = {**current[kind], **changes}
            _validate_classifier(kind, updated)
            updated.update(Version=updated["Version"] + 1, LastUpdated=_now())
            self._classifier_store(request)[changes["Name"]] = {kind: updated}
        return {}

    def delete_classifier(self, request: AwsRequest) -> dict[str, Any]:
        name = request.params.get("Name", "")
        with self._lock:
            self._classifier(request, name)
            del self._classifier_store(request)[name]
        return {}

    def _classifier_store(self, request: AwsRequest) -> dict[str, dict[str, Any]]:
        return self._classifiers.setdefault((request.account_id, request.region), {})

    def _classifier(self, request: AwsRequest, name: str) -> dict[str, Any]:
        classifier = self._classifier_store(request).get(name)
        if classifier is None:
            raise EntityNotFoundException(f"Classifier {name} not found. Create it with create_classifier.")
        return classifier

    # ---- crawler configuration (moto stores it) ------------------------------------------------

    def create_crawler(self, request: AwsRequest) -> RawResponse:
        _check_recrawl_policy(request.params)
        return request.forward()

    def update_crawler(self, request: AwsRequest) -> dict[str, Any]:
        name = request.params.get("Name", "")
        catalog = GlueCatalog(request.account_id, request.region)
        with self._lock:
            config = _crawler_config(catalog, name)
            if self._history(request, name).current():
                raise CrawlerRunningException(f"Crawler {name} is running; update it once its State is READY.")
            changes = {key: value for key, value in request.params.items() if key in UPDATABLE_CRAWLER_FIELDS}
            _check_recrawl_policy({**config, **changes})
            catalog.update_crawler(name, changes)
        return {}

    def delete_crawler(self, request: AwsRequest) -> RawResponse:
        name = request.params.get("Name", "")
        with self._lock:
            if self._history(request, name).current():
                raise CrawlerRunningException(f"Crawler {name} is running; delete it once its State is READY.")
            response = request.forward()
            if response.status == 200:
                self._histories.pop((request.account_id, request.region, name), None)
        return response

    def get_crawler(self, request: AwsRequest) -> dict[str, Any] | RawResponse:
        response = request.forward()
        if response.status != 200:
            return response
        body = response.json()
        self._describe(request, body["Crawler"])
        return body

    def get_crawlers(self, request: AwsRequest) -> dict[str, Any] | RawResponse:
        """GetCrawlers and BatchGetCrawlers: moto's answer, with the state of our runs."""
        response = request.forward()
        if response.status != 200:
            return response
        body = response.json()
        for crawler in body.get("Crawlers", []):
            self._describe(request, crawler)
        return body

    def _describe(self, request: AwsRequest, crawler: dict[str, Any]) -> None:
        """Overlay what moto gets wrong: defaults it omits, State, CrawlElapsedTime and LastCrawl."""
        for key, default in (("SchemaChangePolicy", DEFAULT_SCHEMA_CHANGE_POLICY),
                             ("RecrawlPolicy", DEFAULT_RECRAWL_POLICY),
                             ("LineageConfiguration", DEFAULT_LINEAGE_CONFIGURATION)):
            crawler[key] = {**default, **(crawler.get(key) or {})}
        with self._lock:
            history = self._history(request, crawler["Name"])
            current, finished = history.current(), history.finished()
            crawler["State"] = current.state if current else "READY"
            crawler["CrawlElapsedTime"] = int(current.runtime_seconds() * 1000) if current else 0
            crawler.pop("LastCrawl", None)
            if finished:
                crawler["LastCrawl"] = finished[-1].last_crawl(crawler["Name"])

    def _history(self, request: AwsRequest, name: str) -> CrawlerHistory:
        return self._histories.get((request.account_id, request.region, name)) or CrawlerHistory()

    # ---- crawler runs --------------------------------------------------------------------------

    def start_crawler(self, request: AwsRequest) -> dict[str, Any]:
        name = request.params.get("Name", "")
        catalog = GlueCatalog(request.account_id, request.region)
        with self._lock:
            config = _crawler_config(catalog, name)
            history = self._histories.setdefault((request.account_id, request.region, name), CrawlerHistory())
            if history.current():
                raise CrawlerRunningException(f"Crawler with name {name} has already started.")
            run = CrawlRun(crawl_id=str(uuid.uuid4()))
            history.runs.append(run)
            thread = threading.Thread(target=self._run, args=(request.account_id, request.region, config,
                                                              history, run),
                                      name=f"glue-crawl-{name}", daemon=True)
            self._threads = [alive for alive in self._threads if alive.is_alive()] + [thread]
        thread.start()
        return {}

    def stop_crawler(self, request: AwsRequest) -> dict[str, Any]:
        name = request.params.get("Name", "")
        with self._lock:
            _crawler_config(GlueCatalog(request.account_id, request.region), name)
            current = self._history(request, name).current()
            if current is None:
                raise CrawlerNotRunningException(f"Crawler {name} is not running, so there is nothing to stop.")
            if current.state == "STOPPING":
                raise CrawlerStoppingException(f"Crawler {name} is already stopping; wait until its State is READY.")
            current.cancel.set()
            current.state = "STOPPING"
        return {}

    def get_crawler_metrics(self, request: AwsRequest) -> dict[str, Any]:
        catalog = GlueCatalog(request.account_id, request.region)
        names = request.params.get("CrawlerNameList") or catalog.crawler_names()
        with self._lock:
            metrics = [self._metrics(request, name) for name in names if catalog.crawler(name) is not None]
        return _page("CrawlerMetricsList", metrics, request.params)

    def _metrics(self, request: AwsRequest, name: str) -> dict[str, Any]:
        history = self._history(request, name)
        current, finished = history.current(), history.finished()
        runtimes = [run.runtime_seconds() for run in finished]
        median = statistics.median(runtimes) if runtimes else 0.0
        last = finished[-1] if finished else None
        return {
            "CrawlerName": name,
            "TimeLeftSeconds": max(median - current.runtime_seconds(), 0.0) if current and runtimes else 0.0,
            "StillEstimating": bool(current and not runtimes),
            "LastRuntimeSeconds": runtimes[-1] if runtimes else 0.0,
            "MedianRuntimeSeconds": median,
            "TablesCreated": last.tables_created if last else 0,
            "TablesUpdated": last.tables_updated if last else 0,
            "TablesDeleted": last.tables_deleted if last else 0,
        }

    def _run(self, account_id: str, region: str, config: dict[str, Any], history: CrawlerHistory,
             run: CrawlRun) -> None:
        """The crawl thread: infer, hold RUNNING briefly, write the catalog, STOPPING, READY."""
        catalog = GlueCatalog(account_id, region)
        run.note("BENCHMARK", f"Running Start Crawl for Crawler {config['Name']}")
        try:
            try:
                results = self._infer_tables(account_id, region, config, history, catalog, run)
            except CrawlFailure as failure:
                results, run.error_message = [], str(failure)
            run.cancel.wait(max(0.0, RUNNING_AT_LEAST_SECONDS - run.runtime_seconds()))
            with self._lock:
                self._finish_work(catalog, config, history, run, results)
            time.sleep(STOPPING_SECONDS)
        except Exception as error:  # a bug must end the crawl as FAILED, not leave it RUNNING forever
            log.exception("crawl %s of %s failed", run.crawl_id, config["Name"])
            run.status, run.error_message = "FAILED", f"Internal error in localcloud's crawler: {error!r}"
            run.note("ERROR", run.error_message)
        run.note("BENCHMARK", "Crawler has finished running and is in state READY")
        self._publish_log(region, config["Name"], run)
        with self._lock:
            run.state, run.finished = "READY", _now()

    def _finish_work(self, catalog: GlueCatalog, config: dict[str, Any], history: CrawlerHistory,
                     run: CrawlRun, results: list[TargetResult]) -> None:
        """Under the engine lock, so that StopCrawler either cancels before any write or finds STOPPING."""
        if run.cancel.is_set():
            run.status = "CANCELLED"
            run.note("INFO", "Crawl stopped by StopCrawler before writing to the Data Catalog")
        elif run.error_message:
            run.status = "FAILED"
            run.note("ERROR", run.error_message)
        else:
            run.note("BENCHMARK", f"Classification complete, writing results to database {config['DatabaseName']}")
            for result in results:
                self._write_target(catalog, config, history, run, result)
            run.note("BENCHMARK", "Finished writing to Catalog")
            run.status = "SUCCEEDED"
        run.state = "STOPPING"

    # ---- reading S3 -----------------------------------------------------------------------------

    def _infer_tables(self, account_id: str, region: str, config: dict[str, Any], history: CrawlerHistory,
                      catalog: GlueCatalog, run: CrawlRun) -> list[TargetResult]:
        database = config["DatabaseName"]
        if not catalog.has_database(database):
            raise CrawlFailure(
                f"Database {database} does not exist, so the crawler has nowhere to write tables. Create it "
                f"with glue.create_database(DatabaseInput={{'Name': '{database}'}}) or point the crawler at an "
                "existing database with update_crawler, then start the crawler again.")
        classifiers = self._json_paths(account_id, region, config.get("Classifiers") or [], run)
        targets = config.get("Targets") or {}
        ignored = sorted(kind for kind, listed in targets.items() if listed and kind != "S3Targets")
        if ignored:
            run.note("WARN", f"localcloud crawls S3 targets only; ignoring {', '.join(ignored)}")
        new_folders_only = _recrawl_behavior(config) == "CRAWL_NEW_FOLDERS_ONLY"
        skip_folders = history.crawled_folders if new_folders_only else set()
        return [self._read_target(S3Objects(account_id), config, target, classifiers, skip_folders, run)
                for target in targets.get("S3Targets") or []]

    def _json_paths(self, account_id: str, region: str, names: list[str], run: CrawlRun) -> list[tuple[str, JsonPath]]:
        """The crawler's JSON classifiers in its listed order; other kinds are kept but not applied."""
        with self._lock:
            store = self._classifiers.get((account_id, region), {})
            missing = [name for name in names if name not in store]
            if missing:
                raise CrawlFailure(f"Classifier {', '.join(missing)} does not exist. Create it with "
                                   "create_classifier, or remove it from the crawler's Classifiers, then start "
                                   "the crawler again.")
            paths = []
            for name in names:
                kind, spec = next(iter(store[name].items()))
                if kind == "JsonClassifier":
                    paths.append((name, JsonPath.parse(spec["JsonPath"])))
                else:
                    run.note("WARN", f"Classifier {name} is a {kind}; localcloud classifies JSON data only")
        return paths

    def _read_target(self, s3: S3Objects, config: dict[str, Any], target: dict[str, Any],
                     classifiers: list[tuple[str, JsonPath]], skip_folders: set[str], run: CrawlRun) -> TargetResult:
        path = target.get("Path", "")
        match = S3_PATH.match(path)
        if match is None:
            raise CrawlFailure(f"S3 target path {path!r} is not an S3 URL. Use the form s3://bucket/folder/.")
        bucket, prefix = match["bucket"], match["prefix"].strip("/")
        prefix = f"{prefix}/" if prefix else ""
        name = table_name(config.get("TablePrefix") or "", prefix.rstrip("/").rsplit("/", 1)[-1] or bucket)
        result = TargetResult(name, f"s3://{bucket}/{prefix}", None)
        if not s3.bucket_exists(bucket):
            run.note("ERROR", f"Bucket {bucket} does not exist; nothing was crawled at {path}")
            return result
        excluded = exclusion_matcher(target.get("Exclusions") or [])
        objects = [info for info in s3.list(bucket, prefix) if _is_data_object(info, prefix, excluded)]
        layout = FolderLayout.of([info.key[len(prefix):] for info in objects])
        table = TableDefinition(name, result.location, layout)
        not_json = 0
        for info in objects:
            folders = layout.folders(info.key[len(prefix):])
            if table.partition_location(folders) in skip_folders:
                continue
            try:
                schema = read_json_object(s3.read(bucket, info.key), classifiers)
            except KeyError:  # deleted since the listing
                continue
            if schema is None:
                not_json += 1
                continue
            table.add_object(folders, info.size, schema)
        if not_json:
            run.note("WARN", f"{not_json} object(s) under {result.location} are not JSON and were not classified")
        if table.stats.objects:
            result.table = table
        return result

    # ---- writing the Data Catalog ----------------------------------------------------------------

    def _write_target(self, catalog: GlueCatalog, config: dict[str, Any], history: CrawlerHistory,
                      run: CrawlRun, result: TargetResult) -> None:
        database, crawler_name = config["DatabaseName"], config["Name"]
        policy = {**DEFAULT_SCHEMA_CHANGE_POLICY, **(config.get("SchemaChangePolicy") or {})}
        new_folders_only = _recrawl_behavior(config) == "CRAWL_NEW_FOLDERS_ONLY"
        existing = catalog.table(database, result.name)
        table = result.table
        if table is None:
            if existing is not None and not new_folders_only:
                self._table_data_gone(catalog, config, policy["DeleteBehavior"], existing, run)
            return
        table_input = table.table_input(crawler_name, _created_by(config, catalog.account_id))
        if existing is None:
            catalog.create_table(database, table_input)
            run.tables_created += 1
            run.note("INFO", f"Created table {result.name} in database {database}")
            current = table_input
        elif policy["UpdateBehavior"] == "UPDATE_IN_DATABASE" and not new_folders_only:
            current = table_input
            if "CreatedBy" in existing:
                table_input["CreatedBy"] = existing["CreatedBy"]  # a table keeps its creator
            if any(existing.get(key) != value for key, value in table_input.items()):
                catalog.update_table(database, table_input)
                run.tables_updated += 1
                run.note("INFO", f"Updated table {result.name} in database {database}")
        else:
            current = existing
            if _schema(existing) != _schema(table_input):
                run.note("INFO", f"The schema of table {result.name} changed; UpdateBehavior LOG leaves the "
                                 "table as it is")
        updating = policy["UpdateBehavior"] == "UPDATE_IN_DATABASE" and not new_folders_only
        self._write_partitions(catalog, database, current, table, crawler_name, updating, run)
        if not new_folders_only:
            self._partitions_gone(catalog, database, result.name, table, policy["DeleteBehavior"], run)
        history.crawled_folders.update(table.partition_location(folders) for folders in table.partitions)

    def _write_partitions(self, catalog: GlueCatalog, database: str, current: dict[str, Any],
                          table: TableDefinition, crawler_name: str, updating: bool, run: CrawlRun) -> None:
        """Add the new partitions; with UPDATE_IN_DATABASE, also update existing ones whose data changed
        (record counts, sizes, columns)."""
        if not table.layout.depth:
            return
        if len(current.get("PartitionKeys") or []) != table.layout.depth:
            run.note("WARN", f"Table {table.name} has {len(current.get('PartitionKeys') or [])} partition keys but "
                             f"its data is {table.layout.depth} folders deep; no partitions were added")
            return
        inputs = [table.partition_input(folders, current["StorageDescriptor"], crawler_name)
                  for folders in table.partitions]
        created = catalog.add_partitions(database, table.name, inputs)
        if created:
            run.note("INFO", f"Created {created} partition(s) for table {table.name}")
        updated = catalog.update_partitions(database, table.name, inputs) if updating else 0
        if updated:
            run.note("INFO", f"Updated {updated} partition(s) of table {table.name}")

    def _partitions_gone(self, catalog: GlueCatalog, database: str, name: str, table: TableDefinition,
                         delete_behavior: str, run: CrawlRun) -> None:
        """Partitions whose folders no longer hold data: deleted only with DELETE_FROM_DATABASE."""
        present = {tuple(table.layout.values(folders)) for folders in table.partitions}
        for partition in catalog.partitions(database, name):
            if tuple(partition["Values"]) in present:
                continue
            if delete_behavior == "DELETE_FROM_DATABASE":
                catalog.delete_partition(database, name, partition["Values"])
                run.note("INFO", f"Deleted partition {partition['Values']} of table {name}: its folder is empty")
            else:
                run.note("INFO", f"Partition {partition['Values']} of table {name} has no data any more; "
                                 f"DeleteBehavior {delete_behavior} keeps it")

    def _table_data_gone(self, catalog: GlueCatalog, config: dict[str, Any], delete_behavior: str,
                         existing: dict[str, Any], run: CrawlRun) -> None:
        """The target of a table this crawler made is empty now: apply DeleteBehavior."""
        if (existing.get("Parameters") or {}).get("UPDATED_BY_CRAWLER") != config["Name"]:
            return
        database, name = config["DatabaseName"], existing["Name"]
        if delete_behavior == "DELETE_FROM_DATABASE":
            catalog.delete_table(database, name)
            run.tables_deleted += 1
            run.note("INFO", f"Deleted table {name}: its S3 folder holds no data")
        elif delete_behavior == "DEPRECATE_IN_DATABASE":
            marker = {"DEPRECATED_BY_CRAWLER": str(int(time.time() * 1000))}  # epoch ms, as AWS writes it
            storage = existing["StorageDescriptor"]
            catalog.update_table(database, {
                **{key: existing[key] for key in TABLE_INPUT_KEYS if key in existing},
                "StorageDescriptor": {**storage, "Parameters": {**storage.get("Parameters", {}), **marker}},
                "Parameters": {**existing.get("Parameters", {}), **marker},
            })
            run.tables_deleted += 1
            run.note("INFO", f"Deprecated table {name}: its S3 folder holds no data")
        else:
            run.note("INFO", f"Table {name} has no data any more; DeleteBehavior LOG keeps it")

    # ---- CloudWatch Logs -------------------------------------------------------------------------

    def _publish_log(self, region: str, crawler_name: str, run: CrawlRun) -> None:
        """Write the run's lines to /aws-glue/crawlers/<crawler>, through the Logs API as Glue does."""
        if not self._endpoint_url or not run.log_lines:
            return
        try:
            logs = self._logs_client(region)
            _create_if_missing(logs, logs.create_log_group, logGroupName=LOG_GROUP)
            _create_if_missing(logs, logs.create_log_stream, logGroupName=LOG_GROUP, logStreamName=crawler_name)
            logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=crawler_name,
                                logEvents=[{"timestamp": ms, "message": line} for ms, line in run.log_lines])
        except (BotoCoreError, ClientError) as error:
            log.warning("could not write the log of crawl %s to CloudWatch Logs: %s", run.crawl_id, error)

    def _logs_client(self, region: str) -> Any:
        with self._lock:
            if region not in self._logs_clients:
                self._logs_clients[region] = boto3.client(
                    "logs", endpoint_url=self._endpoint_url, region_name=region,
                    aws_access_key_id="localcloud", aws_secret_access_key="localcloud",
                    config=Config(user_agent_extra=ENGINE_USER_AGENT))
            return self._logs_clients[region]


# ---- helpers --------------------------------------------------------------------------------------

def _classifier_in(params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The one classifier kind a Create/UpdateClassifier request carries, and its fields."""
    given = [kind for kind in CLASSIFIER_KINDS if params.get(kind)]
    if len(given) != 1:
        raise InvalidInputException(
            f"Give exactly one of {', '.join(CLASSIFIER_KINDS)} (got {', '.join(given) or 'none'}), "
            "for example JsonClassifier={'Name': 'orders-json', 'JsonPath': '$[*]'}.")
    spec = dict(params[given[0]])
    name = spec.get("Name") or ""
    if not 1 <= len(name) <= 255:
        raise InvalidInputException(f"Classifier Name must be 1 to 255 characters long (got {len(name)}).")
    return given[0], spec


def _validate_classifier(kind: str, spec: dict[str, Any]) -> None:
    if kind == "JsonClassifier":
        try:
            JsonPath.parse(spec.get("JsonPath") or "")
        except JsonPathError as error:
            raise InvalidInputException(str(error)) from None
    elif kind == "CsvClassifier":
        for key in ("Delimiter", "QuoteSymbol"):
            if key in spec and (len(spec[key]) != 1 or spec[key] in "\r\n"):
                raise InvalidInputException(f"CsvClassifier {key} must be one character other than a line break "
                                            f"(got {spec[key]!r}).")
        if spec.get("Delimiter") and spec.get("Delimiter") == spec.get("QuoteSymbol"):
            raise InvalidInputException("CsvClassifier Delimiter and QuoteSymbol must be different characters.")
        _check_enum(spec, "ContainsHeader", ("UNKNOWN", "PRESENT", "ABSENT"))
        _check_enum(spec, "Serde", ("OpenCSVSerDe", "LazySimpleSerDe", "None"))
    else:
        required = ("Classification", "GrokPattern") if kind == "GrokClassifier" else ("Classification",)
        for key in required:
            if not spec.get(key):
                raise InvalidInputException(f"{kind} needs a non-empty {key}.")
        if kind == "GrokClassifier" and len(spec["GrokPattern"]) > 2048:
            raise InvalidInputException("GrokClassifier GrokPattern must be at most 2048 characters long.")


def _check_enum(spec: dict[str, Any], key: str, allowed: tuple[str, ...]) -> None:
    if key in spec and spec[key] not in allowed:
        raise InvalidInputException(f"CsvClassifier {key} must be one of {', '.join(allowed)} (got {spec[key]!r}).")


def _check_recrawl_policy(config: dict[str, Any]) -> None:
    """AWS refuses CRAWL_NEW_FOLDERS_ONLY unless both schema change behaviours are LOG."""
    policy = {**DEFAULT_SCHEMA_CHANGE_POLICY, **(config.get("SchemaChangePolicy") or {})}
    if _recrawl_behavior(config) == "CRAWL_NEW_FOLDERS_ONLY" and set(policy.values()) != {"LOG"}:
        raise InvalidInputException(
            'The SchemaChangePolicy for "Crawl new folders only" Amazon S3 target can have only LOG '
            "DeleteBehavior value and LOG UpdateBehavior value. Pass SchemaChangePolicy={'UpdateBehavior': "
            "'LOG', 'DeleteBehavior': 'LOG'}, or use RecrawlPolicy={'RecrawlBehavior': 'CRAWL_EVERYTHING'}.")


def _recrawl_behavior(config: dict[str, Any]) -> str:
    """CRAWL_EVERYTHING, CRAWL_NEW_FOLDERS_ONLY or CRAWL_EVENT_MODE.

    Event mode crawls the folders that S3 event notifications (through the target's EventQueueArn) name.
    localcloud has no S3 notifications, so an event-mode crawler crawls everything. When every write is
    notified, that gives the tables AWS would give.
    """
    return (config.get("RecrawlPolicy") or {}).get("RecrawlBehavior") or "CRAWL_EVERYTHING"


def _crawler_config(catalog: GlueCatalog, name: str) -> dict[str, Any]:
    config = catalog.crawler(name)
    if config is None:
        raise EntityNotFoundException(f"Crawler {name} not found.")
    return config


def _is_data_object(info: S3ObjectInfo, prefix: str, excluded: re.Pattern[str] | None) -> bool:
    """Skip folder markers, empty objects, hidden files (_SUCCESS, .crc) and excluded keys."""
    relative = info.key[len(prefix):]
    file_name = relative.rsplit("/", 1)[-1]
    return (info.size > 0 and not info.key.endswith("/") and not file_name.startswith(("_", "."))
            and not (excluded and excluded.match(relative)))


def _schema(table: dict[str, Any]) -> tuple[Any, Any]:
    return table["StorageDescriptor"].get("Columns"), table.get("PartitionKeys")


def _created_by(config: dict[str, Any], account_id: str) -> str:
    role = config.get("Role", "").rsplit("/", 1)[-1]
    return f"arn:aws:sts::{account_id}:assumed-role/{role}/AWS-Crawler"


def _create_if_missing(logs: Any, create: Callable[..., Any], **params: Any) -> None:
    try:
        create(**params)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass


def _page(key: str, items: list[Any], params: dict[str, Any]) -> dict[str, Any]:
    """One page of a list operation: NextToken is the index of the next item."""
    token = params.get("NextToken") or "0"
    if not token.isdigit():
        raise InvalidInputException(f"NextToken {token!r} was not returned by this operation; start without one.")
    start = int(token)
    size = params.get("MaxResults") or len(items) or 1
    page = {key: items[start:start + size]}
    if start + size < len(items):
        page["NextToken"] = str(start + size)
    return page
