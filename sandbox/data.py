"""Deterministic data: every generated value is a function of the seed and a record's
coordinates, so any page can be produced on demand without storing a data set."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from hashlib import blake2b
from typing import TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")

_MASK64 = (1 << 64) - 1


class Draw:
    """Independent pseudo-random values derived from one key."""

    __slots__ = ("_bits",)

    def __init__(self, seed: int, *key: object) -> None:
        text = "|".join(str(part) for part in (seed, *key))
        self._bits = int.from_bytes(blake2b(text.encode(), digest_size=32).digest(), "big")

    def unit(self, slot: int) -> float:
        """A float in [0, 1) from the 64 bits at `slot` (0..3)."""
        return ((self._bits >> (64 * slot)) & _MASK64) / 2**64

    def below(self, slot: int, n: int) -> int:
        return int(self.unit(slot) * n)

    def choice(self, slot: int, options: Sequence[T]) -> T:
        return options[self.below(slot, len(options))]

    def weighted(self, slot: int, options: Sequence[tuple[T, float]]) -> T:
        point = self.unit(slot) * sum(weight for _, weight in options)
        for option, weight in options:
            point -= weight
            if point < 0:
                return option
        return options[-1][0]


# Area codes in service in the US, so the numbers are possible numbers for libphonenumber.
US_AREA_CODES = (201, 202, 212, 213, 214, 305, 312, 313, 404, 415, 469, 503, 512, 602, 617,
                 646, 702, 713, 718, 786, 801, 818, 832, 904, 917, 949, 972)


def us_number(draw: Draw, slot: int) -> str:
    """A ten-digit US number (area code, exchange 200-999, line)."""
    value = draw.below(slot, 27 * 800 * 10_000)
    area = US_AREA_CODES[value % 27]
    exchange = 200 + (value // 27) % 800
    line = value // (27 * 800)
    return f"{area}{exchange:03d}{line:04d}"


# -- local days (vendors whose timestamps are naive local times) -----------------------------

@dataclass(frozen=True)
class LocalDay:
    """One calendar day of a zone as slots, one per real second, in the order of the naive
    local time a vendor stores and sorts on.

    The day lasts 23, 24 or 25 hours. Slots are real seconds, so no slot lands in a skipped
    local hour. When the clocks go back, the two passes through the repeated hour interleave
    (fold 0 then fold 1 at each wall-clock second), so slot order is naive-timestamp order."""

    zone: ZoneInfo
    start: datetime  # the UTC instant of local midnight
    length: int  # seconds in the day
    fold_start: int  # real second where the first pass of a repeated span begins
    fold_length: int  # length of the repeated span in seconds (0: none)

    def real_second(self, slot: int) -> int:
        offset = slot - self.fold_start
        if self.fold_length and 0 <= offset < 2 * self.fold_length:
            half, second_pass = divmod(offset, 2)
            return self.fold_start + half + (self.fold_length if second_pass else 0)
        return slot

    def instant(self, slot: int) -> datetime:
        """The UTC instant of a slot."""
        return self.start + timedelta(seconds=self.real_second(slot))

    def naive(self, slot: int) -> datetime:
        """The slot as the zone's wall clock shows it, without offset."""
        return self.instant(slot).astimezone(self.zone).replace(tzinfo=None)


@lru_cache(maxsize=8192)
def local_day(zone_name: str, day: date) -> LocalDay:
    zone = ZoneInfo(zone_name)
    start = datetime.combine(day, time(), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
    length = int((end - start).total_seconds())
    fold_start, fold_length = length, 0
    if length > 86_400:
        # The clocks went back: find the first second whose UTC offset differs from midnight's.
        midnight_offset = start.astimezone(zone).utcoffset()
        lo, hi = 1, length
        while lo < hi:
            mid = (lo + hi) // 2
            if (start + timedelta(seconds=mid)).astimezone(zone).utcoffset() == midnight_offset:
                lo = mid + 1
            else:
                hi = mid
        repeated = length - 86_400
        if lo - repeated >= 0 and lo + repeated <= length:
            fold_start, fold_length = lo - repeated, repeated
    return LocalDay(zone, start, length, fold_start, fold_length)


def spread_slot(index: int, count: int, length: int, unit: float) -> int:
    """Slot of record `index` of `count` spread evenly over `length` slots, moved by `unit`
    (in [0, 1)) within its share: strictly increasing with the index while count <= length."""
    width = max(1, length // count)
    return index * length // count + int(unit * width)


def naive_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


# -- the API -------------------------------------------------------------------------------
