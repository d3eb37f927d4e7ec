"""Step 08: an Athena workgroup whose results go to the participant's bucket."""

from __future__ import annotations

from workshop.session import Connection

# A runaway query stops after scanning 1 GB: at $5 per TB that caps one query at half a cent.
BYTES_SCANNED_CUTOFF = 1_000_000_000


def ensure_workgroup(conn: Connection) -> str:
    athena = conn.client("athena")
    name = conn.config.workgroup_name
    try:
        athena.get_work_group(WorkGroup=name)
    except athena.exceptions.InvalidRequestException:
        athena.create_work_group(
            Name=name,
            Description="Sales CDC workshop queries",
            Configuration={
                "ResultConfiguration": {"OutputLocation": conn.config.athena_output_location(conn.account_id)},
                # Queries in this workgroup always write results to the bucket above.
                "EnforceWorkGroupConfiguration": True,
                "PublishCloudWatchMetricsEnabled": False,
                "BytesScannedCutoffPerQuery": BYTES_SCANNED_CUTOFF,
            },
            Tags=conn.config.tag_list(),
        )
    return name
