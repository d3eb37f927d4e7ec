"""aws-mode safety: before the kit creates anything in a real account, the learner confirms which account it is.

Building the course in the wrong account (an employer's, a production one) is the mistake that is
hardest to undo, so in aws mode the kit shows the account id and region and waits for a yes.
WORKSHOP_CONFIRM_ACCOUNT=<account id> confirms without a prompt, for instructors and scripted runs.
Once the participant's tagged table exists in the account, the account was confirmed when it was
created, and the kit does not ask again, except before `python -m workshop run` deletes what is there.
Local mode never asks: localcloud is on this machine.
"""

from __future__ import annotations

import os

from workshop.config import ConfigError
from workshop.session import Connection

CONFIRM_VARIABLE = "WORKSHOP_CONFIRM_ACCOUNT"


class AccountNotConfirmed(ConfigError):
    """The learner did not confirm the AWS account; the message says how to check it or confirm it.

    A ConfigError, because the fix is a setting (credentials, region, WORKSHOP_CONFIRM_ACCOUNT), and the
    command line reports those as a configuration problem rather than a traceback.
    """


def ask(question: str) -> bool:
    """A yes/no question on the terminal or in a notebook's input box: only 'y' or 'yes' means yes."""
    return input(question).strip().lower() in ("y", "yes")


def confirm_account(conn: Connection) -> None:
    """In aws mode, raise AccountNotConfirmed unless the learner confirms conn's account and region."""
    if conn.config.mode != "aws":
        return
    account, region = conn.account_id, conn.config.region
    if _confirmed_by_variable(account) or _participant_started(conn):
        return
    print(f"aws mode: the course will create resources in AWS account {account}, region {region}, "
          f"named after participant {conn.config.participant}.")
    if not ask(f"Create them in account {account} ({region})? [y/N] "):
        raise AccountNotConfirmed(
            f"Stopped before creating anything in account {account}. If that is the wrong account, switch "
            f"credentials (AWS_PROFILE) and region (AWS_REGION); to work offline, unset WORKSHOP_MODE. "
            f"To confirm without a prompt, set {CONFIRM_VARIABLE}={account}.")


def confirm_rebuild(conn: Connection) -> None:
    """In aws mode, raise AccountNotConfirmed unless the learner confirms deleting the participant's resources.

    `python -m workshop run` starts clean: it deletes what the participant has, then builds the whole
    course. That deletes work, so it asks even when the participant has started (confirm_account does not).
    """
    if conn.config.mode != "aws":
        return
    from workshop.teardown import remaining

    account, region = conn.account_id, conn.config.region
    if _confirmed_by_variable(account):
        return
    doomed = remaining(conn)
    print(f"aws mode: the run first deletes the {len(doomed)} resources of participant {conn.config.participant} in "
          f"AWS account {account}, region {region}, then builds the whole course there.",
          *(f"  {resource}" for resource in doomed), sep="\n")
    if not ask(f"Delete them and run the course in account {account} ({region})? [y/N] "):
        raise AccountNotConfirmed(
            f"Stopped: nothing was deleted or created in account {account}. To run without a prompt, set "
            f"{CONFIRM_VARIABLE}={account}; to run offline instead, unset WORKSHOP_MODE.")


def _confirmed_by_variable(account: str) -> bool:
    """WORKSHOP_CONFIRM_ACCOUNT names this account (True), is unset (False), or names another (raises)."""
    expected = os.environ.get(CONFIRM_VARIABLE, "").strip()
    if expected and expected != account:
        raise AccountNotConfirmed(
            f"{CONFIRM_VARIABLE}={expected}, but your credentials are for account {account}. Nothing was "
            f"created. Switch to the right credentials (AWS_PROFILE), or set {CONFIRM_VARIABLE}={account} "
            "if this account is the one you mean.")
    return bool(expected)


def _participant_started(conn: Connection) -> bool:
    """The participant's first resource, the orders table, exists here with the kit's tags."""
    ddb = conn.client("dynamodb")
    try:
        tags = ddb.list_tags_of_resource(ResourceArn=conn.config.table_arn(conn.account_id))["Tags"]
    except ddb.exceptions.ResourceNotFoundException:
        return False
    return conn.config.tags.items() <= {tag["Key"]: tag["Value"] for tag in tags}.items()
