"""The participant's bucket: Firehose output, errors and Athena results."""

from __future__ import annotations

from workshop.session import Connection


def ensure_bucket(conn: Connection) -> str:
    """Create the bucket (private, tagged) if it does not exist; return its name."""
    s3 = conn.client("s3")
    name = conn.bucket
    try:
        if conn.config.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": conn.config.region})
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": conn.config.tag_list()})
    s3.get_waiter("bucket_exists").wait(Bucket=name)
    return name
