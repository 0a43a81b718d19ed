"""Instants as integer microseconds since the epoch, and their ISO 8601 form."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from lrs.rules import parse_timestamp

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def now_us() -> int:
    return time.time_ns() // 1000


def format_us(us: int) -> str:
    moment = EPOCH + timedelta(microseconds=us)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def http_date(us: int) -> str:
    moment = EPOCH + timedelta(microseconds=us)
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def parse_us(value: str) -> int | None:
    """Microseconds of an ISO 8601 timestamp; one without an offset is taken as UTC."""
    match = parse_timestamp(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = match.group(7) or ""
    micros = int((fraction[1:] + "000000")[:6]) if fraction else 0
    try:
        moment = datetime(year, month, day, hour, minute, min(second, 59), micros, tzinfo=timezone.utc)
    except ValueError:
        return None
    offset = match.group(8)
    if offset and offset not in ("Z", "z"):
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
        moment -= sign * timedelta(minutes=minutes)
    return (moment - EPOCH) // timedelta(microseconds=1)
