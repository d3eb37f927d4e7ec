"""Step 07: a Glue database, a JSON classifier and a crawler that turns delivered files into a table."""

from __future__ import annotations

from typing import Any

from workshop.session import Connection
from workshop.steps import iam
from workshop.waiting import wait_until

# One JSON object per line: the whole object is one row.
JSON_PATH = "$"


def ensure_database(conn: Connection) -> str:
    glue = conn.client("glue")
    try:
        glue.create_database(DatabaseInput={"Name": conn.config.glue_database,
                                            "Description": "Sales CDC workshop: orders change log"},
                             Tags=conn.config.tags)
    except glue.exceptions.AlreadyExistsException:
        pass
    return conn.config.glue_database


def ensure_classifier(conn: Connection) -> str:
    glue = conn.client("glue")
    try:
        glue.create_classifier(JsonClassifier={"Name": conn.config.classifier_name, "JsonPath": JSON_PATH})
    except glue.exceptions.AlreadyExistsException:
        pass
    return conn.config.classifier_name


def ensure_crawler(conn: Connection) -> dict[str, Any]:
    """A crawler over the two data folders (not errors/ or athena-results/), using our classifier.

    Each target folder becomes one table: orders (hour folders -> partition_0..3) and
    orders_by_hour (year=/month=/day=/hour= folders -> partitions named year, month, day, hour).
    """
    glue = conn.client("glue")
    name = conn.config.crawler_name
    ensure_database(conn)
    ensure_classifier(conn)
    try:
        return glue.get_crawler(Name=name)["Crawler"]
    except glue.exceptions.EntityNotFoundException:
        pass
    role_arn = iam.ensure_role(conn, "crawler")
    iam.retry_while_role_propagates(lambda: glue.create_crawler(
        Name=name,
        Role=role_arn,
        DatabaseName=conn.config.glue_database,
        Classifiers=[conn.config.classifier_name],
        Targets={"S3Targets": [{"Path": conn.config.data_location(conn.account_id)},
                               {"Path": conn.config.hive_data_location(conn.account_id)}]},
        # New columns update the table; files that disappear are only logged.
        SchemaChangePolicy={"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"},
        RecrawlPolicy={"RecrawlBehavior": "CRAWL_EVERYTHING"},
        Tags=conn.config.tags,
    ), what=f"crawler {name}")
    return glue.get_crawler(Name=name)["Crawler"]


def run_crawler(conn: Connection, timeout: float = 600) -> dict[str, Any]:
    """Start the crawler (unless it is running) and wait for it to finish; raise if the crawl failed."""
    glue = conn.client("glue")
    name = conn.config.crawler_name
    try:
        glue.start_crawler(Name=name)
    except glue.exceptions.CrawlerRunningException:
        pass

    def finished() -> dict[str, Any] | None:
        crawler = glue.get_crawler(Name=name)["Crawler"]
        return crawler if crawler["State"] == "READY" and "LastCrawl" in crawler else None

    crawler = wait_until(finished, what=f"crawler {name}", timeout=timeout, interval=2,
                         hint="A crawler run takes about a minute on AWS; its log is in CloudWatch "
                              "/aws-glue/crawlers.")
    if crawler["LastCrawl"]["Status"] != "SUCCEEDED":
        raise RuntimeError(f"Crawler {name} ended {crawler['LastCrawl']['Status']}: "
                           f"{crawler['LastCrawl'].get('ErrorMessage', 'no message')}")
    return crawler


def ensure_tables(conn: Connection) -> list[str]:
    """Crawl once if the crawler has not made the orders table yet; return the database's table names."""
    glue = conn.client("glue")
    try:
        glue.get_table(DatabaseName=conn.config.glue_database, Name=conn.config.glue_table)
    except glue.exceptions.EntityNotFoundException:
        run_crawler(conn)
    return [t["Name"] for t in glue.get_tables(DatabaseName=conn.config.glue_database)["TableList"]]
