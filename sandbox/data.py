"""Deterministic data: every generated value is a function of the seed and a record's
coordinates, so any page can be produced on demand without storing a data set."""

from collections.abc import Sequence
from hashlib import blake2b
from typing import TypeVar

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
