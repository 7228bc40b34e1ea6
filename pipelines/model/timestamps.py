"""Vendor timestamps to aware UTC datetimes, and the calendar months the warehouse is kept in."""

from datetime import UTC, date, datetime, tzinfo

from pipelines.model.events import RecordRejected


def parse_vendor_time(value: object, zone: tzinfo = UTC) -> datetime:
    """An ISO-like vendor timestamp as an aware UTC datetime.

    Naive values are read in `zone` (the vendor's documented or configured zone); in a DST
    fold the earlier instant is taken. Values with an offset keep it. Anything else is a
    rejected record, not an exception that stops the load."""
    if not isinstance(value, str) or not value.strip():
        raise RecordRejected("missing or non-text timestamp")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise RecordRejected("unparseable timestamp") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-01:00: beyond the last representable day
        raise RecordRejected("timestamp out of range") from None


def month_start(day: date, months_later: int = 0) -> date:
    """The first day of the month `months_later` months after `day`'s (negative: before)."""
    index = day.year * 12 + day.month - 1 + months_later
    return date(index // 12, index % 12 + 1, 1)
