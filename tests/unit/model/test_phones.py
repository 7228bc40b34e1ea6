import pytest

from pipelines.model.phones import to_e164


@pytest.mark.parametrize(("raw", "expected"), [
    ("1234567890", "+11234567890"),          # national, as in mGage's example
    ("15556667777", "+15556667777"),         # with country code, as in mGage's example
    ("+15556667777", "+15556667777"),
    (" 212-555-0100 ", "+12125550100"),
    ("85291234567", "+85291234567"),         # international digits without '+'
    ("+44 7911 123456", "+447911123456"),
])
def test_numbers_become_e164(raw: str, expected: str) -> None:
    assert to_e164(raw, "US") == expected


@pytest.mark.parametrize("raw", ["", "   ", "null", "not-a-number", "12", "abc123"])
def test_non_numbers_are_none(raw: str) -> None:
    assert to_e164(raw, "US") is None


def test_default_region_reads_national_numbers() -> None:
    assert to_e164("07911 123456", "GB") == "+447911123456"


def test_the_north_american_fast_path_agrees_with_libphonenumber() -> None:
    import random

    import phonenumbers

    generator = random.Random(42)
    samples = [str(generator.randrange(10**9, 10**11)) for _ in range(3000)]
    samples += [f"1{generator.randrange(10**9, 10**10)}" for _ in range(1000)]
    for raw in samples:
        number = phonenumbers.parse(raw, "US")
        expected = (phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                    if phonenumbers.is_possible_number(number) else None)
        if expected is not None:  # the slow path also tries '+digits' for impossible ones
            assert to_e164(raw, "US") == expected, raw
