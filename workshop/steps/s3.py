"""The participant's bucket: Firehose output, errors and Athena results.

A bucket that already exists under the participant's name is used only if it carries the kit's tags.
Otherwise the kit did not create it, and it is left exactly as it is: in us-east-1, CreateBucket on a
bucket you already own succeeds, so tagging it afterwards would silently replace its owner's tags.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from workshop.session import Connection


class BucketNotTheKits(RuntimeError):
    """The participant's bucket name is taken by a bucket the kit did not create; the message says what to do."""


def ensure_bucket(conn: Connection) -> str:
    """Create the bucket (private, tagged) if it does not exist; return its name."""
    s3 = conn.client("s3")
    name = conn.bucket
    if _exists(conn, name):
        _require_kit_tags(conn, name)
        return name
    if conn.config.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": conn.config.region})
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": conn.config.tag_list()})
    s3.get_waiter("bucket_exists").wait(Bucket=name)
    return name


def _exists(conn: Connection, name: str) -> bool:
    """HeadBucket: 200 it is ours to look at, 404 it does not exist, 403 another account owns the name."""
    try:
        conn.client("s3").head_bucket(Bucket=name)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code in ("404", "NoSuchBucket", "NotFound"):
            return False
        if code in ("403", "AccessDenied", "Forbidden"):
            raise BucketNotTheKits(
                f"S3 bucket {name} exists, but you may not use it: another AWS account owns it, or your "
                "permissions do not allow s3:ListBucket on it. Check `python -m workshop doctor`, or choose "
                "another participant id (WORKSHOP_PARTICIPANT).") from error
        raise
    return True


def _require_kit_tags(conn: Connection, name: str) -> None:
    s3 = conn.client("s3")
    try:
        tags = {tag["Key"]: tag["Value"] for tag in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchTagSet":
            raise
        tags = {}
    if not conn.config.tags.items() <= tags.items():
        wanted = ", ".join(f"{key}={value}" for key, value in conn.config.tags.items())
        raise BucketNotTheKits(
            f"S3 bucket {name} already exists in this account without the kit's tags ({wanted}), so the kit did "
            "not create it and leaves it (and its tags) alone. Choose another participant id "
            "(WORKSHOP_PARTICIPANT); or, if it is yours and holds nothing you need, delete it and run this again.")
