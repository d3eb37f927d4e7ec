"""What every widget of the package shares: its connection, AWS errors in words, HTML boxes, figures.

Widgets here are updated from button callbacks and from the monitor's background thread. Both
work the same way in JupyterLab and in a headless nbclient run as long as a widget is changed by
setting its traits (`html.value = ...`, `output.outputs = ...`), never with `with output:` (which
captures whatever cell happens to run at that moment, so it is unreliable from a thread).
"""

from __future__ import annotations

import base64
import html
import io

import boto3
import ipywidgets as widgets
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError
from matplotlib.figure import Figure

from workshop.config import ConfigError, load
from workshop.session import Connection, LocalCloudUnavailable, connect

# What connecting can raise: a bad setting, localcloud not starting, no credentials, an unreachable endpoint.
CONNECT_ERRORS = (ConfigError, LocalCloudUnavailable, BotoCoreError, ClientError)
NOT_FOUND = {"ResourceNotFoundException", "NoSuchBucket"}
THROTTLED = {"ProvisionedThroughputExceededException", "ThrottlingException", "LimitExceededException",
             "RequestLimitExceeded"}


def as_connection(session: Connection | boto3.Session | None) -> Connection:
    """The widgets' connection: the one given, one around a plain boto3 session, or connect()'s."""
    if session is None:
        return connect()
    if isinstance(session, boto3.Session):
        # boto3 honours AWS_ENDPOINT_URL itself, so a session made for localcloud keeps working.
        return Connection(config=load(), session=session)
    return session


def connection_or_problem(session: Connection | boto3.Session | None) -> tuple[Connection | None, str | None]:
    """(as_connection(session), None), or (None, what went wrong in words): a widget shows it instead of raising."""
    try:
        return as_connection(session), None
    except CONNECT_ERRORS as error:
        return None, readable_error(error, "the connection", "")


def readable_error(error: Exception, what: str, hint: str) -> str:
    """One or two sentences a learner can act on, for an error met while reading `what`.

    what: the resource in words, e.g. "Kinesis stream learner-orders-stream".
    hint: how to create it when it does not exist, e.g. "Run notebook 03 to create it."
    """
    if isinstance(error, ClientError):
        code = error.response["Error"]["Code"]
        message = error.response["Error"].get("Message", "")
        if code in NOT_FOUND:
            return f"{what[:1].upper()}{what[1:]} does not exist (AWS says: {message}). {hint}"
        if code == "ExpiredIteratorException":
            return ("The shard iterator expired: an iterator is good for 5 minutes (Kinesis) or 15 minutes "
                    "(DynamoDB Streams). Click 'Get records' to start again from the chosen position.")
        if code == "TrimmedDataAccessException":
            return ("The records at that position are past the stream's retention period and are gone. "
                    "Choose TRIM_HORIZON to start at the oldest record still kept.")
        if code in THROTTLED:
            return (f"AWS is throttling reads of {what}: a shard serves 5 reads a second, shared with every "
                    "other reader (the pipe, Firehose). Wait a few seconds and try again.")
        return f"{what}: AWS refused the request with {code}: {message}"
    if isinstance(error, NoCredentialsError):
        return ("No AWS credentials were found. Set them up (`aws configure`, or `aws sso login` and "
                "`export AWS_PROFILE=NAME`), then run this cell again; `python -m workshop doctor` checks the setup.")
    if isinstance(error, EndpointConnectionError):
        return (f"Cannot reach {error.kwargs.get('endpoint_url', 'the endpoint')}. In local mode start "
                "localcloud with `make up`; on AWS check your network.")
    if isinstance(error, BotoCoreError):
        return f"{what}: the request failed before AWS answered: {error}"
    return str(error)


def error_html(message: str) -> str:
    """A red box for a problem, with the text escaped (AWS messages may contain < and >)."""
    return ('<div style="border:1px solid #c0392b;background:#fdecea;color:#7b241c;padding:6px 10px;'
            f'border-radius:4px">&#9888; {html.escape(message)}</div>')


def info_html(message: str) -> str:
    """A quiet line for what just happened, e.g. how many records a page held."""
    return f'<div style="color:#555;padding:2px 0">{html.escape(message)}</div>'


def frame_html(frame: pd.DataFrame, max_rows: int = 200) -> str:
    """A DataFrame as a compact HTML table (pandas escapes the values)."""
    if frame.empty:
        return info_html("(no records)")
    table = frame.to_html(max_rows=max_rows, border=0, na_rep="", classes="workshop-records")
    return f"<style>.workshop-records th, .workshop-records td {{padding: 0 0.6em}}</style>{table}"


def show_figure(output: widgets.Output, figure: Figure) -> None:
    """Replace what an Output widget shows with a matplotlib figure, as a PNG. Safe from any thread."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    output.outputs = ({
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                 "text/plain": f"<{figure.axes[0].get_title() if figure.axes else 'figure'}>"},
        "metadata": {},
    },)
