"""Athena's query API, answered by localcloud: query executions, their results, and workgroups.

moto accepts StartQueryExecution but runs nothing: every query SUCCEEDS at once with no rows. This
engine intercepts the query operations and runs each query on the DuckDB-backed QueryEngine in a pool
of two worker threads, with Athena's states (QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED),
statistics, errors and result files (see results.py).

Workgroups stay in moto's backend, so that tags and the Resource Groups Tagging API keep working; the
workgroup calls moto gets wrong (Get, List, Update, Delete, ListTagsForResource) are answered here
from that same state. "primary" is as in a new AWS account: no output location and not enforced.
awswrangler then creates its default bucket aws-athena-query-results-<account>-<region> (through STS
and S3, which localcloud serves) with a warning; pass s3_output or use a workgroup with an output
location to avoid that.
"""

from __future__ import annotations

import base64
import importlib
import logging
import re
import threading
import time
import uuid
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localcloud.athena import results
from localcloud.athena.query_error import QueryError
from localcloud.errors import InvalidRequestException, ResourceNotFoundException
from localcloud.moto_state.athena import ENGINE_VERSION, AthenaWorkGroups
from localcloud.moto_state.glue import GlueCatalog
from localcloud.moto_state.s3 import S3Objects
from localcloud.router import AwsRequest, RawResponse, Router

if TYPE_CHECKING:
    from localcloud.athena.engine import QueryEngine

log = logging.getLogger("localcloud.athena")

WORKER_THREADS = 2
PRIMARY_WORKGROUP = "primary"
FINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")
NO_OUTPUT_LOCATION = ("No output location provided. An output location is required either through the "
                      "Workgroup result configuration setting or as an API input.")
BYTES_SCANNED_LIMIT = "Bytes scanned limit was exceeded"
CANCELLED_BY_USER = "Query cancelled by user"
INTERRUPT_RETRY_SECONDS = 0.05
WORKGROUP_NAME = re.compile(r"^[a-zA-Z0-9._-]{1,128}$")
S3_LOCATION = re.compile(r"^s3://[^/]+(/.*)?$")


@dataclass
class Execution:
    """One query execution, from StartQueryExecution to its final state."""

    query_id: str
    account_id: str
    region: str
    query: str                               # QueryString, as sent
    workgroup: str
    context: dict[str, str]                  # QueryExecutionContext, as sent
    result_configuration: dict[str, Any]     # the effective one; OutputLocation is the folder
    execution_parameters: list[str] | None
    result_reuse: dict[str, Any]
    bytes_scanned_cutoff: int | None
    statement_type: str                      # a first guess from the SQL, then the engine's answer
    substatement_type: str | None
    submitted: float = field(default_factory=time.time)
    state: str = "QUEUED"
    state_change_reason: str | None = None
    athena_error: dict[str, Any] | None = None
    started: float | None = None             # a worker picked it up
    engine_started: float | None = None
    engine_finished: float | None = None
    completed: float | None = None
    data_scanned: int = 0
    manifest_location: str | None = None
    stored: results.StoredResult | None = None
    future: Future | None = None

    @property
    def output_folder(self) -> str:
        return self.result_configuration["OutputLocation"]

    @property
    def result_uri(self) -> str:
        return results.result_uri(self.output_folder, self.query_id, self.substatement_type)

    def describe(self) -> dict[str, Any]:
        """The QueryExecution structure of GetQueryExecution and BatchGetQueryExecution."""
        shown: dict[str, Any] = {
            "QueryExecutionId": self.query_id,
            "Query": self.query.strip().removesuffix(";").strip(),  # as Athena shows it
            "StatementType": self.statement_type,
            "ResultConfiguration": {**self.result_configuration, "OutputLocation": self.result_uri},
            "ResultReuseConfiguration": self.result_reuse,
            "QueryExecutionContext": _shown_context(self.context),
            "Status": self._status(),
            "Statistics": self._statistics(),
            "WorkGroup": self.workgroup,
            "EngineVersion": dict(ENGINE_VERSION),
        }
        if self.substatement_type:
            shown["SubstatementType"] = self.substatement_type
        if self.execution_parameters:
            shown["ExecutionParameters"] = self.execution_parameters
        return shown

    def _status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"State": self.state, "SubmissionDateTime": self.submitted}
        if self.completed is not None:
            status["CompletionDateTime"] = self.completed
        if self.state_change_reason:
            status["StateChangeReason"] = self.state_change_reason
        if self.athena_error:
            status["AthenaError"] = self.athena_error
        return status

    def _statistics(self) -> dict[str, Any]:
        now = time.time()
        end = self.completed or now
        statistics = {
            "EngineExecutionTimeInMillis": _millis(self.engine_started, self.engine_finished or end),
            "DataScannedInBytes": self.data_scanned,
            "TotalExecutionTimeInMillis": _millis(self.submitted, end),
            "QueryQueueTimeInMillis": _millis(self.submitted, self.started or end),
            "ServicePreProcessingTimeInMillis": _millis(self.started, self.engine_started or end),
            # DuckDB plans and runs in one call; planning time cannot be told apart from the rest.
            "QueryPlanningTimeInMillis": 0,
            "ServiceProcessingTimeInMillis": _millis(self.engine_finished, end),
            "ResultReuseInformation": {"ReusedPreviousResult": False},
        }
        if self.manifest_location:
            statistics["DataManifestLocation"] = self.manifest_location
        return statistics


class AthenaEngine:
    """The localcloud engine for Athena: intercepts the query and workgroup operations moto gets wrong."""

    name = "athena"

    def __init__(self, state_dir: Path):
        self.state_dir = Path(state_dir) / self.name
        self._engines: dict[tuple[str, str], QueryEngine] = {}  # one per (account, region)
        self._executions: dict[str, Execution] = {}
        self._tokens: dict[tuple[str, str, str], tuple[str, tuple[Any, ...]]] = {}
        self._workgroups_created: dict[tuple[str, str, str], float] = {}
        self._pages = results.ResultPages()
        self._lock = threading.RLock()
        self._pool: ThreadPoolExecutor | None = None

    # ---- engine lifecycle ---------------------------------------------------------------------------

    def register(self, router: Router) -> None:
        router.register_all("athena", {
            "StartQueryExecution": self.start_query_execution,
            "GetQueryExecution": self.get_query_execution,
            "BatchGetQueryExecution": self.batch_get_query_execution,
            "ListQueryExecutions": self.list_query_executions,
            "StopQueryExecution": self.stop_query_execution,
            "GetQueryResults": self.get_query_results,
            "CreateWorkGroup": self.create_work_group,
            "GetWorkGroup": self.get_work_group,
            "ListWorkGroups": self.list_work_groups,
            "UpdateWorkGroup": self.update_work_group,
            "DeleteWorkGroup": self.delete_work_group,
            "ListTagsForResource": self.list_tags_for_resource,
        })

    def start(self, endpoint_url: str) -> None:
        """Start the workers, and queue again what was still queued when they were stopped.

        The SQL engine (DuckDB, pandas, sqlglot's optimizer) takes about 0.5 s to import. Imported at start, or
        while the server answers its first calls, it delayed them as much (cold start 1.38 s against 0.92 s,
        bench/RESULTS.md), so it is imported 2 s after start, or by the first query if that comes sooner.
        """
        importer = threading.Timer(2.0, importlib.import_module, args=("localcloud.athena.engine",))
        importer.daemon = True
        importer.start()
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="athena-query")
            for execution in sorted(self._executions.values(), key=lambda e: e.submitted):
                if execution.state == "QUEUED":
                    execution.future = self._pool.submit(self._run, execution)

    def stop(self) -> None:
        """Interrupt running queries and put them back in the queue, as Athena does after a transient error;
        start() runs everything still QUEUED."""
        with self._lock:
            pool, self._pool = self._pool, None
            interrupted = [e for e in self._executions.values() if e.state == "RUNNING"]
            for execution in interrupted:
                execution.state = "QUEUED"
        for execution in interrupted:
            self._interrupt(execution)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._engines.clear()  # lets their DuckDB databases go; the next query opens a new one

    def reset(self) -> None:
        with self._lock:
            self._engines.clear()
            self._executions.clear()
            self._tokens.clear()
            self._workgroups_created.clear()
        self._pages.clear()

    def _engine(self, account_id: str, region: str) -> QueryEngine:
        """The SQL engine that reads this account's buckets through this region's Glue catalog."""
        from localcloud.athena.engine import QueryEngine  # imported in the background by start()

        with self._lock:
            key = (account_id, region)
            if key not in self._engines:
                cache_dir = self.state_dir / "cache" / account_id / region
                cache_dir.mkdir(parents=True, exist_ok=True)
                self._engines[key] = QueryEngine(GlueCatalog(account_id, region), S3Objects(account_id), cache_dir)
            return self._engines[key]

    # ---- query executions ---------------------------------------------------------------------------

    def start_query_execution(self, request: AwsRequest) -> dict[str, Any]:
        params = request.params
        query = params["QueryString"]
        workgroup_name = params.get("WorkGroup") or PRIMARY_WORKGROUP
        workgroup = self._enabled_workgroup(request, workgroup_name)
        requested = params.get("ResultConfiguration") or {}
        result_configuration = _effective_result_configuration(requested, workgroup["Configuration"])
        context = params.get("QueryExecutionContext") or {}
        token = params.get("ClientRequestToken")
        fingerprint = (query, context.get("Catalog"), context.get("Database"), requested.get("OutputLocation"))
        statement_type, substatement_type = guess_statement_type(query)
        with self._lock:
            if token:
                known = self._tokens.get((request.account_id, request.region, token))
                if known is not None:
                    if known[1] != fingerprint:
                        raise InvalidRequestException("Idempotent parameters do not match")
                    return {"QueryExecutionId": known[0]}
            execution = Execution(
                query_id=str(uuid.uuid4()), account_id=request.account_id, region=request.region,
                query=query, workgroup=workgroup_name, context=context,
                result_configuration=result_configuration,
                execution_parameters=params.get("ExecutionParameters"),
                result_reuse=params.get("ResultReuseConfiguration")
                or {"ResultReuseByAgeConfiguration": {"Enabled": False}},
                bytes_scanned_cutoff=workgroup["Configuration"].get("BytesScannedCutoffPerQuery"),
                statement_type=statement_type, substatement_type=substatement_type,
            )
            self._executions[execution.query_id] = execution
            if token:
                self._tokens[(request.account_id, request.region, token)] = (execution.query_id, fingerprint)
            if self._pool is not None:
                execution.future = self._pool.submit(self._run, execution)
        return {"QueryExecutionId": execution.query_id}

    def get_query_execution(self, request: AwsRequest) -> dict[str, Any]:
        execution = self._execution(request, request.params["QueryExecutionId"])
        with self._lock:
            return {"QueryExecution": execution.describe()}

    def batch_get_query_execution(self, request: AwsRequest) -> dict[str, Any]:
        found, missing = [], []
        for query_id in request.params["QueryExecutionIds"]:
            try:
                execution = self._execution(request, query_id)
            except InvalidRequestException as error:
                missing.append({"QueryExecutionId": query_id, "ErrorCode": "QUERY_EXECUTION_NOT_FOUND",
                                "ErrorMessage": error.message})
                continue
            with self._lock:
                found.append(execution.describe())
        return {"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing}

    def list_query_executions(self, request: AwsRequest) -> dict[str, Any]:
        """Ids in the workgroup ("primary" when not given), newest first."""
        params = request.params
        workgroup_name = params.get("WorkGroup") or PRIMARY_WORKGROUP
        if not AthenaWorkGroups(request.account_id, request.region).exists(workgroup_name):
            raise InvalidRequestException("WorkGroup is not found.")
        with self._lock:
            ids = [e.query_id for e in sorted(self._executions.values(), key=lambda e: e.submitted, reverse=True)
                   if (e.account_id, e.region, e.workgroup) == (request.account_id, request.region, workgroup_name)]
        return _paged("QueryExecutionIds", ids, params.get("NextToken"), params.get("MaxResults") or 50)

    def stop_query_execution(self, request: AwsRequest) -> dict[str, Any]:
        """QUEUED and RUNNING queries become CANCELLED at once; stopping a finished query changes nothing."""
        execution = self._execution(request, request.params["QueryExecutionId"])
        with self._lock:
            was_running = execution.state == "RUNNING"
            if execution.state in FINAL_STATES:
                return {}
            if execution.future is not None:
                execution.future.cancel()
            self._complete(execution, "CANCELLED", CANCELLED_BY_USER)
        if was_running:
            threading.Thread(target=self._interrupt, args=(execution,), name="athena-stop", daemon=True).start()
        return {}

    def get_query_results(self, request: AwsRequest) -> dict[str, Any]:
        params = request.params
        execution = self._execution(request, params["QueryExecutionId"])
        max_results = params.get("MaxResults") or results.MAX_RESULTS_PER_PAGE
        if max_results > results.MAX_RESULTS_PER_PAGE:
            raise InvalidRequestException(
                f"MaxResults is more than maximum allowed length {results.MAX_RESULTS_PER_PAGE}")
        with self._lock:
            state, reason, stored = execution.state, execution.state_change_reason, execution.stored
        if state in ("QUEUED", "RUNNING"):
            raise InvalidRequestException(f"Query has not yet finished. Current state: {state}")
        if state == "FAILED":
            raise InvalidRequestException(
                f"Query did not finish successfully. Final query state: FAILED. Reason: {reason}")
        if state == "CANCELLED" or stored is None:
            raise InvalidRequestException("Could not find results")
        return self._pages.page(S3Objects(execution.account_id), execution.result_uri, stored,
                                query_id=execution.query_id, next_token=params.get("NextToken"),
                                max_results=max_results)

    def _execution(self, request: AwsRequest, query_id: str) -> Execution:
        with self._lock:
            execution = self._executions.get(query_id)
        if execution is None or (execution.account_id, execution.region) != (request.account_id, request.region):
            raise InvalidRequestException(f"QueryExecution {query_id} was not found")
        return execution

    # ---- running a query (worker threads) -----------------------------------------------------------

    def _run(self, execution: Execution) -> None:
        with self._lock:
            if execution.state != "QUEUED":
                return
            execution.state, execution.started = "RUNNING", time.time()
        try:
            self._run_started(execution)
        except QueryError as error:
            self._fail(execution, error.reason, {"ErrorCategory": error.category, "ErrorType": error.error_type,
                                                 "Retryable": error.retryable})
        except Exception as error:  # a bug in localcloud must not leave the query RUNNING for ever
            if self._fail(execution, f"GENERIC_INTERNAL_ERROR: {error}",
                          {"ErrorCategory": 1, "ErrorType": 200, "Retryable": False}):
                log.exception("Athena query %s failed inside localcloud", execution.query_id)

    def _run_started(self, execution: Execution) -> None:
        storage = S3Objects(execution.account_id)
        bucket, _ = results.split_s3_uri(execution.output_folder)
        if not storage.bucket_exists(bucket):
            self._fail(execution, f"Unable to verify/create output bucket {bucket}",
                       {"ErrorCategory": 2, "ErrorType": 1000, "Retryable": False})
            return
        sql = bind_parameters(execution.query, execution.execution_parameters or [])
        engine = self._engine(execution.account_id, execution.region)
        execution.engine_started = time.time()
        outcome = engine.execute(sql, database=execution.context.get("Database"), query_id=execution.query_id,
                                 output_location=execution.output_folder.rstrip("/") + "/")
        with self._lock:
            if execution.state != "RUNNING":  # stopped, or sent back to the queue, while the engine ran
                return
            execution.engine_finished = time.time()
            execution.data_scanned = outcome.data_scanned_bytes
            cutoff = execution.bytes_scanned_cutoff
            if cutoff is not None and outcome.data_scanned_bytes > cutoff:
                execution.data_scanned = cutoff  # Athena stops reading at the limit
                self._complete(execution, "CANCELLED", BYTES_SCANNED_LIMIT)
                return
            execution.statement_type = outcome.statement_type
            execution.substatement_type = outcome.substatement_type
            execution.manifest_location = outcome.data_manifest_location
        stored = results.write_results(
            storage, execution.result_uri, query_id=execution.query_id, statement_type=outcome.statement_type,
            substatement_type=outcome.substatement_type, columns=outcome.columns, csv_rows=outcome.csv_rows)
        with self._lock:
            execution.stored = stored
            self._complete(execution, "SUCCEEDED")

    def _interrupt(self, execution: Execution) -> None:
        """Interrupt the engine until the worker lets go of the query. A query can be RUNNING before its
        first DuckDB call (while its tables are looked up), when an interrupt has nothing to stop yet."""
        engine = self._engine(execution.account_id, execution.region)
        while execution.future is not None and not execution.future.done():
            engine.cancel(execution.query_id)
            futures.wait([execution.future], timeout=INTERRUPT_RETRY_SECONDS)

    def _fail(self, execution: Execution, reason: str, athena_error: dict[str, Any]) -> bool:
        """FAILED with the reason, unless the query was cancelled meanwhile; True when it failed."""
        with self._lock:
            if execution.state != "RUNNING":
                return False
            execution.athena_error = {**athena_error, "ErrorMessage": reason}
            results.write_failure(S3Objects(execution.account_id), execution.result_uri,
                                  execution.substatement_type, reason)
            self._complete(execution, "FAILED", reason)
            return True

    def _complete(self, execution: Execution, state: str, reason: str | None = None) -> None:
        """Move to a final state; only a QUEUED or RUNNING query can (callers hold the lock)."""
        if execution.state in FINAL_STATES:
            return
        execution.state, execution.state_change_reason, execution.completed = state, reason, time.time()

    # ---- workgroups -----------------------------------------------------------------------------------

    def create_work_group(self, request: AwsRequest) -> dict[str, Any]:
        params = request.params
        name = params["Name"]
        if not WORKGROUP_NAME.match(name):
            raise InvalidRequestException(
                f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must "
                "satisfy regular expression pattern: [a-zA-Z0-9._-]{1,128}")
        workgroups = AthenaWorkGroups(request.account_id, request.region)
        with self._lock:
            if workgroups.exists(name):
                raise InvalidRequestException("WorkGroup already exists")
            workgroups.create(name, params.get("Configuration") or {}, params.get("Description") or "",
                              params.get("Tags") or [])
            self._workgroups_created[(request.account_id, request.region, name)] = time.time()
        return {}

    def get_work_group(self, request: AwsRequest) -> dict[str, Any]:
        name = request.params["WorkGroup"]
        workgroup = AthenaWorkGroups(request.account_id, request.region).get(name)
        if workgroup is None:
            raise InvalidRequestException("WorkGroup is not found.")
        return {"WorkGroup": {**workgroup, "CreationTime": self._creation_time(request, name)}}

    def list_work_groups(self, request: AwsRequest) -> dict[str, Any]:
        """Every workgroup, in name order, as ListWorkGroups summarises them."""
        workgroups = AthenaWorkGroups(request.account_id, request.region)
        summaries = []
        for name in workgroups.names():
            workgroup = workgroups.get(name)
            summaries.append({
                "Name": name, "State": workgroup["State"], "Description": workgroup.get("Description", ""),
                "CreationTime": self._creation_time(request, name),
                "EngineVersion": workgroup["Configuration"].get("EngineVersion", dict(ENGINE_VERSION)),
            })
        params = request.params
        return _paged("WorkGroups", summaries, params.get("NextToken"), params.get("MaxResults") or 50)

    def update_work_group(self, request: AwsRequest) -> dict[str, Any]:
        params = request.params
        name = params["WorkGroup"]
        workgroups = AthenaWorkGroups(request.account_id, request.region)
        if not workgroups.exists(name):
            raise InvalidRequestException("WorkGroup is not found.")
        workgroups.update(name, params.get("Description"), params.get("ConfigurationUpdates") or {},
                          params.get("State"))
        return {}

    def delete_work_group(self, request: AwsRequest) -> dict[str, Any]:
        params = request.params
        name = params["WorkGroup"]
        workgroups = AthenaWorkGroups(request.account_id, request.region)
        if name == PRIMARY_WORKGROUP:
            raise InvalidRequestException("The primary workgroup cannot be deleted.")
        if not workgroups.exists(name):
            raise InvalidRequestException("WorkGroup is not found.")
        saved = workgroups.saved_contents(name)
        if saved and not params.get("RecursiveDeleteOption"):
            raise InvalidRequestException(
                f"WorkGroup {name} is not empty: it holds the named queries or prepared statements "
                f"{', '.join(saved)}. Delete those first, or pass RecursiveDeleteOption=True.")
        with self._lock:
            workgroups.delete(name)
            self._workgroups_created.pop((request.account_id, request.region, name), None)
        return {}

    def list_tags_for_resource(self, request: AwsRequest) -> dict[str, Any] | RawResponse:
        """A workgroup's tags, also when it has none (moto answers that case with an error)."""
        match = re.match(r"^arn:aws[\w-]*:athena:[^:]+:\d{12}:workgroup/(?P<name>.+)$",
                         request.params.get("ResourceARN", ""))
        if match is None:
            return request.forward()
        workgroups = AthenaWorkGroups(request.account_id, request.region)
        if not workgroups.exists(match["name"]):
            raise ResourceNotFoundException(f"Athena workgroup {match['name']} does not exist.")
        return {"Tags": workgroups.tags(match["name"])}

    def _enabled_workgroup(self, request: AwsRequest, name: str) -> dict[str, Any]:
        workgroup = AthenaWorkGroups(request.account_id, request.region).get(name)
        if workgroup is None:
            raise InvalidRequestException("WorkGroup is not found.")
        if workgroup["State"] != "ENABLED":
            raise InvalidRequestException(
                f"WorkGroup {name} is disabled. Enable it with UpdateWorkGroup(State='ENABLED') to run queries in it.")
        return workgroup

    def _creation_time(self, request: AwsRequest, name: str) -> float:
        """When the workgroup was created here; moto's own "primary" counts from when it was first shown."""
        with self._lock:
            return self._workgroups_created.setdefault((request.account_id, request.region, name), time.time())


# ---- helpers ------------------------------------------------------------------------------------------

def _effective_result_configuration(requested: dict[str, Any], workgroup_configuration: dict[str, Any]
                                    ) -> dict[str, Any]:
    """The query's ResultConfiguration, unless the workgroup enforces its own; the workgroup's as a fallback."""
    workgroup_results = workgroup_configuration.get("ResultConfiguration") or {}
    if workgroup_configuration.get("EnforceWorkGroupConfiguration") and workgroup_results.get("OutputLocation"):
        chosen = workgroup_results
    elif requested.get("OutputLocation"):
        chosen = requested
    elif workgroup_results.get("OutputLocation"):
        chosen = workgroup_results
    elif (workgroup_configuration.get("ManagedQueryResultsConfiguration") or {}).get("Enabled"):
        raise InvalidRequestException(
            "localcloud does not store managed query results (ManagedQueryResultsConfiguration). Give the "
            "workgroup a ResultConfiguration.OutputLocation, or pass ResultConfiguration.OutputLocation.")
    else:
        raise InvalidRequestException(NO_OUTPUT_LOCATION)
    if not S3_LOCATION.match(chosen["OutputLocation"]):
        raise InvalidRequestException("outputLocation is not a valid S3 path.")
    return dict(chosen)


def _shown_context(context: dict[str, str]) -> dict[str, str]:
    """QueryExecutionContext as Athena echoes it: the catalog lower-cased, what was left out left out."""
    shown = dict(context)
    if "Catalog" in shown:
        shown["Catalog"] = shown["Catalog"].lower()
    return shown


def _millis(start: float | None, end: float | None) -> int:
    return int(round((end - start) * 1000)) if start is not None and end is not None else 0


def _paged(key: str, items: list[Any], next_token: str | None, max_results: int) -> dict[str, Any]:
    """A page of a listing, with an opaque NextToken when more items follow."""
    offset = 0
    if next_token:
        try:
            offset = int(base64.urlsafe_b64decode(next_token.encode()).decode())
        except ValueError:
            raise InvalidRequestException(f"The nextPageToken is malformed: {next_token}") from None
    page: dict[str, Any] = {key: items[offset:offset + max_results]}
    if offset + max_results < len(items):
        page["NextToken"] = base64.urlsafe_b64encode(str(offset + max_results).encode()).decode()
    return page


# Leading comments, whitespace and parentheses, which Athena skips when it classifies a statement.
_LEADING_NOISE = re.compile(r"(?:\s+|--[^\n]*|/\*.*?\*/|\()*", re.DOTALL)
_CTAS = re.compile(r"^CREATE\s+TABLE\b.*?\bAS\b[\s(]*(SELECT|WITH|VALUES|TABLE)\b", re.DOTALL | re.IGNORECASE)


def guess_statement_type(sql: str) -> tuple[str, str | None]:
    """(StatementType, SubstatementType) from the first keyword, shown until the engine has the answer."""
    text = sql[_LEADING_NOISE.match(sql).end():]
    first = re.match(r"[A-Za-z]*", text).group(0).upper()
    if first in ("SELECT", "WITH", "VALUES", "TABLE"):
        return "DML", "SELECT"
    if first in ("EXPLAIN", "INSERT", "UPDATE", "DELETE", "MERGE"):
        return "DML", first
    if first == "CREATE" and _CTAS.match(text):
        return "DDL", "CREATE_TABLE_AS_SELECT"
    if first in ("SHOW", "DESCRIBE", "DESC"):
        return "UTILITY", None
    return "DDL", None


# Quoted strings, quoted names and comments, which may contain a "?" that is not a parameter; or a "?".
_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|\?", re.DOTALL)


def bind_parameters(sql: str, parameters: list[str]) -> str:
    """Replace each ? placeholder with its ExecutionParameters value, the way Athena binds them."""
    if not parameters:
        return sql
    values = iter(parameters)
    placeholders = sum(1 for token in _PLACEHOLDER.findall(sql) if token == "?")
    if placeholders and placeholders != len(parameters):
        raise QueryError("INVALID_PARAMETER_USAGE", f"line 1:1: Incorrect number of parameters: expected "
                                                    f"{placeholders} but found {len(parameters)}")
    return _PLACEHOLDER.sub(lambda m: _parameter_sql(next(values)) if m.group(0) == "?" else m.group(0), sql)


def _parameter_sql(value: str) -> str:
    """An expression without column references is used as it is ('abc', 1 + 1, DATE '2024-01-01');
    anything else (abc, it's, a uuid) becomes a string literal, as Athena does."""
    import sqlglot  # here, not at the top: the server starts before the SQL engine is imported
    from sqlglot import exp

    try:
        parsed = sqlglot.parse_one(f"SELECT ({value})", read="athena")
    except sqlglot.errors.SqlglotError:  # does not tokenize or parse: a string
        parsed = None
    if parsed is None or len(parsed.expressions) != 1 or parsed.find(exp.Column) is not None:
        return "'" + value.replace("'", "''") + "'"
    return value
