import pytest

from pipelines.model.phones import NumberReading, to_e164


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


@pytest.mark.parametrize(("raw", "expected"), [
    ("6591234567", "+6591234567"),        # Singapore, which +1 would also accept as 659-123-4567
    ("919812345670", "+919812345670"),    # India
    ("447700900123", "+447700900123"),    # United Kingdom
    ("2348031234567", "+2348031234567"),  # Nigeria
    ("5511987654321", "+5511987654321"),  # Brazil
    ("15556667777", "+15556667777"),      # North America
    ("+6591234567", "+6591234567"),
])
def test_international_fields_never_read_digits_as_national(raw: str, expected: str) -> None:
    assert to_e164(raw, "US", NumberReading.INTERNATIONAL) == expected
    assert to_e164(raw, "GB", NumberReading.INTERNATIONAL) == expected


def test_a_national_field_reads_ten_digits_in_the_region() -> None:
    # mGage documents national numbers (`1234567890`): there, +1 is the right reading.
    assert to_e164("6591234567", "US") == "+16591234567"


@pytest.mark.parametrize(("raw", "country", "expected"), [
    ("85291234567", "HK", "+85291234567"),   # with the country's code
    ("91234567", "HK", "+85291234567"),      # national in that country
    ("6591234567", "HK", "+6591234567"),     # another country's number, international
    ("91234567", "SG", "+6591234567"),
    ("6591234567", "US", "+16591234567"),    # a valid US number sent to the US
    ("07911123456", "GB", "+447911123456"),
    ("447911123456", "GB", "+447911123456"),
])
def test_a_field_with_its_country_reads_digits_in_that_country(raw: str, country: str,
                                                               expected: str) -> None:
    assert to_e164(raw, country, NumberReading.IN_COUNTRY) == expected


def test_reading_in_a_country_agrees_with_its_rule_in_full() -> None:
    """The reading parses the international form only when the national one is not valid: the
    answer must be the documented rule's, which parses both. The rule, spelled out: the
    international reading when it is that country's, valid, and the national one is not; else
    the first possible of national and international."""
    import random

    import phonenumbers

    def rule(digits: str, region: str) -> str | None:
        def parse(text: str) -> phonenumbers.PhoneNumber | None:
            try:
                return phonenumbers.parse(text, region)
            except phonenumbers.NumberParseException:
                return None
        national, international = parse(digits), parse(f"+{digits}")
        if (international is not None
                and international.country_code == phonenumbers.country_code_for_region(region)
                and phonenumbers.is_valid_number(international)
                and not (national is not None and phonenumbers.is_valid_number(national))):
            return phonenumbers.format_number(international, phonenumbers.PhoneNumberFormat.E164)
        for number in (national, international):
            if number is not None and phonenumbers.is_possible_number(number):
                return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        return None

    generator = random.Random(7)
    for region in ("HK", "SG", "GB", "US", "IN", "DE", "BR", "AU"):
        code = str(phonenumbers.country_code_for_region(region))
        samples = [str(generator.randrange(10**6, 10**13)) for _ in range(300)]
        samples += [code + str(generator.randrange(10**6, 10**11)) for _ in range(300)]
        samples += ["0" + str(generator.randrange(10**7, 10**11)) for _ in range(100)]
        for digits in samples:
            assert to_e164(digits, region, NumberReading.IN_COUNTRY) == rule(digits, region), \
                (digits, region)
