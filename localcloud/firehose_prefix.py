"""Firehose S3 prefixes: the `!{namespace:value}` expressions, AWS's rules for them, and their evaluation.

A delivery stream writes each object to `<evaluated prefix><suffix>`. The prefix may hold expressions:

    !{timestamp:yyyy/MM/dd}            the arrival time of the object's oldest record, as a Java DateTimeFormatter
    !{firehose:random-string}          11 random characters, new for each use
    !{firehose:error-output-type}      processing-failed, partitioning-failed, ... (ErrorOutputPrefix only)
    !{partitionKeyFromLambda:key}      a partition key the transform Lambda returned (dynamic partitioning)
    !{partitionKeyFromQuery:key}       a partition key from a JQ query (not supported by localcloud)

`validate_prefixes` applies AWS's rules when a stream is created or updated; `S3Prefixes` turns the two
configured prefixes into the ones actually used (AWS appends a date path to a Prefix without a timestamp, and
derives the error prefix when ErrorOutputPrefix is empty) and evaluates them for one object.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Mapping, Union

from localcloud.errors import InvalidArgumentException

MAX_EVALUATED_LENGTH = 512
DEFAULT_TIME_PATH = "!{timestamp:yyyy/MM/dd/HH/}"
ERROR_OUTPUT_TYPE = "!{firehose:error-output-type}"
RULE_PREAMBLE = "The supplied prefix(es) do not satisfy the following constraint: "


class PrefixError(InvalidArgumentException):
    """A prefix breaks one of AWS's rules; the message names the rule and how to fix the prefix."""

    def __init__(self, rule: str, fix: str):
        super().__init__(f"{RULE_PREAMBLE}{rule}. {fix}")


# ---- Java DateTimeFormatter patterns -----------------------------------------------------------------
# Firehose evaluates !{timestamp:...} with java.time.format.DateTimeFormatter. These are the pattern
# letters whose output does not depend on a locale's week rules, which covers every prefix seen in practice.
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MAX_LETTERS = {"G": 5, "y": 19, "u": 19, "M": 5, "L": 5, "d": 2, "D": 3, "E": 5, "a": 1, "h": 2, "K": 2,
               "k": 2, "H": 2, "m": 2, "s": 2, "S": 9, "A": 19, "n": 19, "N": 19, "Q": 4, "q": 4, "V": 2,
               "z": 4, "Z": 5, "X": 5, "x": 5}
JAVA_ONLY_LETTERS = set("YwWecFOpBgv")  # valid in Java, but locale week rules or rare: not evaluated here


@dataclass(frozen=True)
class _Field:
    letter: str
    count: int


JavaToken = Union[str, _Field]


def compile_java_pattern(pattern: str) -> tuple[JavaToken, ...]:
    """Split a DateTimeFormatter pattern into literal text and fields. Raises ValueError like Java does."""
    tokens: list[JavaToken] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "'":
            end = i + 1
            text = ""
            while True:
                close = pattern.find("'", end)
                if close < 0:
                    raise ValueError(f"Pattern ends with an incomplete string literal: {pattern}")
                text += pattern[end:close]
                if pattern[close + 1:close + 2] == "'":  # '' inside quotes is one quote
                    text += "'"
                    end = close + 2
                    continue
                break
            tokens.append(text if close > i + 1 else "'")
            i = close + 1
        elif char.isascii() and char.isalpha():
            count = 1
            while i + count < len(pattern) and pattern[i + count] == char:
                count += 1
            if char in JAVA_ONLY_LETTERS:
                raise ValueError(f"the pattern letter '{char}' is not supported by localcloud; supported letters: "
                                 f"{''.join(sorted(MAX_LETTERS))}")
            if char not in MAX_LETTERS:
                raise ValueError(f"Unknown pattern letter: {char}")
            if count > MAX_LETTERS[char] or (char == "V" and count != 2):
                raise ValueError(f"Too many pattern letters: {char}")
            tokens.append(_Field(char, count))
            i += count
        elif char in "#{}":
            raise ValueError(f"Pattern includes reserved character: '{char}'")
        else:
            # '[' and ']' mark optional sections; every field is available for a timestamp, so they print.
            if char not in "[]":
                tokens.append(char)
            i += 1
    return tuple(tokens)


def format_java_pattern(tokens: tuple[JavaToken, ...], moment: datetime) -> str:
    return "".join(token if isinstance(token, str) else _format_field(token, moment) for token in tokens)


def _number(value: int, count: int) -> str:
    return str(value).zfill(count)


def _text(full: str, count: int) -> str:
    """Java text styles: 1-3 letters short ("Jul"), 4 full ("July"), 5 narrow ("J")."""
    return full[:3] if count <= 3 else full if count == 4 else full[0]


def _format_field(field: _Field, moment: datetime) -> str:
    letter, count = field.letter, field.count
    if letter in "yu":
        return _number(moment.year % 100, 2) if count == 2 else _number(moment.year, count)
    if letter in "ML":
        return _number(moment.month, count) if count <= 2 else _text(MONTHS[moment.month - 1], count)
    if letter == "E":
        return _text(WEEKDAYS[moment.weekday()], count)
    if letter == "G":
        return "AD" if count <= 3 else "Anno Domini" if count == 4 else "A"
    if letter in "Qq":
        quarter = (moment.month - 1) // 3 + 1
        return (_number(quarter, count) if count <= 2 else f"Q{quarter}" if count == 3
                else f"{quarter}{['st', 'nd', 'rd', 'th'][quarter - 1]} quarter")
    if letter == "a":
        return "AM" if moment.hour < 12 else "PM"
    if letter == "S":
        return _number(moment.microsecond * 1000, 9)[:count]
    if letter in "ZXxzV":
        return _format_zone(letter, count, moment)
    micros_of_day = ((moment.hour * 60 + moment.minute) * 60 + moment.second) * 1_000_000 + moment.microsecond
    value = {
        "d": moment.day, "D": moment.timetuple().tm_yday, "H": moment.hour, "m": moment.minute,
        "s": moment.second, "h": (moment.hour % 12) or 12, "K": moment.hour % 12, "k": moment.hour or 24,
        "A": micros_of_day // 1000, "n": moment.microsecond * 1000, "N": micros_of_day * 1000,
    }[letter]
    return _number(value, count)


def _format_zone(letter: str, count: int, moment: datetime) -> str:
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    if letter == "V":
        return str(getattr(moment.tzinfo, "key", "UTC"))
    if letter == "z":
        return moment.tzname() or "UTC"
    if letter in "X" and minutes == 0:
        return "Z"
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    if letter == "Z":
        return f"{sign}{hours:02d}:{mins:02d}" if count == 5 else f"{sign}{hours:02d}{mins:02d}"
    if count == 1:
        return f"{sign}{hours:02d}" + (f"{mins:02d}" if mins else "")
    return f"{sign}{hours:02d}{':' if count in (3, 5) else ''}{mins:02d}"


# ---- prefix expressions --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Timestamp:
    pattern: str
    tokens: tuple[JavaToken, ...]


@dataclass(frozen=True)
class RandomString:
    pass


@dataclass(frozen=True)
class ErrorOutputType:
    pass


@dataclass(frozen=True)
class PartitionKey:
    source: str  # "Lambda" or "Query"
    key: str


Part = Union[str, Timestamp, RandomString, ErrorOutputType, PartitionKey]


def parse_prefix(prefix: str, field: str = "Prefix") -> tuple[Part, ...]:
    """The literal text and expressions of one prefix. Raises PrefixError for a malformed expression."""
    parts: list[Part] = []
    position = 0
    while True:
        start = prefix.find("!{", position)
        if start < 0:
            if prefix[position:]:
                parts.append(prefix[position:])
            return tuple(parts)
        if start > position:
            parts.append(prefix[position:start])
        end = prefix.find("}", start)
        if end < 0:
            raise PrefixError("The sequence '!{' can only appear in !{namespace:value} expressions",
                              f"{field} {prefix!r} has a '!{{' at character {start} that is never closed by '}}'.")
        parts.append(_expression(prefix[start + 2:end], field))
        position = end + 1


def _expression(body: str, field: str) -> Part:
    namespace, colon, value = body.partition(":")
    if not colon or not value:
        raise PrefixError("Expressions must have the form !{namespace:value}",
                          f"{field} has '!{{{body}}}'; write for example !{{timestamp:yyyy/MM/dd}}.")
    if namespace == "timestamp":
        try:
            return Timestamp(value, compile_java_pattern(value))
        except ValueError as invalid:
            raise PrefixError("Timestamp expressions must be valid Java DateTimeFormatter patterns",
                              f"{field} has '!{{{body}}}': {invalid}. Quote literal text, as in "
                              "!{timestamp:'year='yyyy}.") from None
    if namespace == "firehose":
        if value == "random-string":
            return RandomString()
        if value == "error-output-type":
            return ErrorOutputType()
        raise PrefixError("The firehose namespace accepts only random-string and error-output-type",
                          f"{field} has '!{{{body}}}'.")
    if namespace in ("partitionKeyFromLambda", "partitionKeyFromQuery"):
        return PartitionKey(namespace.removeprefix("partitionKeyFrom"), value)
    raise PrefixError("Expressions must use the namespace firehose, timestamp, partitionKeyFromLambda or "
                      "partitionKeyFromQuery", f"{field} has '!{{{body}}}', whose namespace {namespace!r} "
                      "is not one of them.")


def _has_expressions(parts: tuple[Part, ...]) -> bool:
    return any(not isinstance(part, str) for part in parts)


def _has(parts: tuple[Part, ...], kind: type) -> bool:
    return any(isinstance(part, kind) for part in parts)


def validate_prefixes(prefix: str, error_prefix: str, *, dynamic_partitioning: bool,
                      lambda_processing: bool) -> None:
    """AWS's rules for Prefix and ErrorOutputPrefix (InvalidArgumentException, as CreateDeliveryStream)."""
    parts = parse_prefix(prefix, "Prefix")
    error_parts = parse_prefix(error_prefix, "ErrorOutputPrefix")
    if _has(parts, ErrorOutputType):
        raise PrefixError("Prefix cannot contain !{firehose:error-output-type}",
                          "Use it in ErrorOutputPrefix only, for example 'errors/!{firehose:error-output-type}/'.")
    if _has_expressions(parts) and not error_prefix:
        raise PrefixError("ErrorOutputPrefix cannot be null or empty when Prefix contains expressions",
                          "Set ErrorOutputPrefix, for example "
                          "'errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/'.")
    if _has_expressions(error_parts) and not _has(error_parts, ErrorOutputType):
        raise PrefixError("ErrorOutputPrefix must contain !{firehose:error-output-type} when it contains "
                          "expressions", f"Add it to ErrorOutputPrefix {error_prefix!r}, for example "
                          f"'{error_prefix}!{{firehose:error-output-type}}/'.")
    if _has(error_parts, PartitionKey):
        raise PrefixError("ErrorOutputPrefix cannot contain partition key expressions",
                          "Failed records have no partition keys; use timestamp and firehose expressions there.")
    _validate_partitioning(parts, error_prefix, dynamic_partitioning, lambda_processing)
    sample = datetime(2000, 12, 31, 23, 59, 59)
    for name, value in (("Prefix", parts), ("ErrorOutputPrefix", error_parts)):
        length = len(render(value, sample, {}, "processing-failed", missing_key=""))
        if length > MAX_EVALUATED_LENGTH:
            raise PrefixError(f"{name} cannot be longer than {MAX_EVALUATED_LENGTH} characters after evaluation",
                              f"{name} evaluates to {length} characters; shorten it.")


def _validate_partitioning(parts: tuple[Part, ...], error_prefix: str, dynamic_partitioning: bool,
                           lambda_processing: bool) -> None:
    keys = [part for part in parts if isinstance(part, PartitionKey)]
    if keys and not dynamic_partitioning:
        raise PrefixError("Partition key expressions require dynamic partitioning",
                          "Set DynamicPartitioningConfiguration={'Enabled': True}, or remove "
                          f"!{{partitionKeyFrom{keys[0].source}:{keys[0].key}}} from Prefix.")
    if not dynamic_partitioning:
        return
    if not error_prefix:
        raise PrefixError("ErrorOutputPrefix is required when dynamic partitioning is enabled",
                          "Set ErrorOutputPrefix, for example 'errors/!{firehose:error-output-type}/'.")
    if not keys:
        raise PrefixError("Prefix must contain at least one partitionKeyFromLambda or partitionKeyFromQuery "
                          "expression when dynamic partitioning is enabled",
                          "For example 'orders/year=!{partitionKeyFromLambda:year}/'.")
    if any(key.source == "Query" for key in keys):
        raise InvalidArgumentException(
            "localcloud does not run MetadataExtraction (JQ) processors, so !{partitionKeyFromQuery:...} cannot "
            "be evaluated. Return the keys from the transform Lambda as metadata.partitionKeys and use "
            "!{partitionKeyFromLambda:...} instead.")
    if not lambda_processing:
        raise PrefixError("partitionKeyFromLambda expressions require an enabled Lambda processor",
                          "Add a Lambda processor to ProcessingConfiguration that returns metadata.partitionKeys.")


def render(parts: tuple[Part, ...], moment: datetime, partition_keys: Mapping[str, str],
           error_output_type: str, missing_key: str | None = None) -> str:
    """Evaluate parsed parts. A partition key absent from partition_keys raises KeyError unless missing_key is set."""
    pieces = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, Timestamp):
            pieces.append(format_java_pattern(part.tokens, moment))
        elif isinstance(part, RandomString):
            pieces.append(str(uuid.uuid4())[:11])
        elif isinstance(part, ErrorOutputType):
            pieces.append(error_output_type)
        elif part.key in partition_keys:
            pieces.append(str(partition_keys[part.key]))
        elif missing_key is not None:
            pieces.append(missing_key)
        else:
            raise KeyError(part.key)
    return "".join(pieces)


class PrefixTooLong(ValueError):
    """An evaluated prefix is over 512 characters (only partition key values can make it so at run time)."""


@dataclass(frozen=True)
class S3Prefixes:
    """The prefixes a delivery stream actually writes to, after AWS's defaulting rules."""

    data: tuple[Part, ...]
    error: tuple[Part, ...]

    @classmethod
    def from_config(cls, prefix: str, error_prefix: str, dynamic_partitioning: bool) -> "S3Prefixes":
        """Prefix gets the default date path unless it has a timestamp expression (or partitions dynamically).

        An empty ErrorOutputPrefix, or one without expressions, gets `<error-output-type>/` and the date path.
        """
        data = parse_prefix(prefix)
        if not _has(data, Timestamp) and not dynamic_partitioning:
            data = data + parse_prefix(DEFAULT_TIME_PATH)
        error = parse_prefix(error_prefix)
        if not _has_expressions(error):
            error = parse_prefix((error_prefix or prefix) + ERROR_OUTPUT_TYPE + "/" + DEFAULT_TIME_PATH)
        return cls(data, error)

    @cached_property  # Firehose asks for every record it delivers
    def partition_keys(self) -> tuple[str, ...]:
        return tuple(part.key for part in self.data if isinstance(part, PartitionKey))

    def data_prefix(self, moment: datetime, partition_keys: Mapping[str, str]) -> str:
        return self._checked(render(self.data, moment, partition_keys, ""))

    def error_prefix(self, moment: datetime, error_output_type: str) -> str:
        return self._checked(render(self.error, moment, {}, error_output_type))

    @staticmethod
    def _checked(evaluated: str) -> str:
        if len(evaluated) > MAX_EVALUATED_LENGTH:
            raise PrefixTooLong(f"the evaluated prefix is {len(evaluated)} characters long "
                                f"(at most {MAX_EVALUATED_LENGTH}): {evaluated[:80]}...")
        return evaluated
