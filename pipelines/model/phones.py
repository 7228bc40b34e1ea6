"""Phone numbers to E.164, with the `phonenumbers` library (Google's libphonenumber metadata).

A digits-only number means different things in different fields, so each field says how it is
read (see `NumberReading`): an mGage `number` may be national (`1234567890`), a Webex key is an
MSISDN (it carries its country code, without '+'), a WhatsApp recipient is an international
number without '+', and a CINNOX SMS recipient comes with the country it was sent to. Reading
`6591234567` (Singapore, +65 9123 4567) as a national US number gives `+16591234567`: another
person, who may be a real subscriber. So only a field documented as national is ever read in
the configured region."""

from enum import Enum
from functools import lru_cache

import phonenumbers

# Regions of the North American Numbering Plan (+1). Their digits-only numbers with a valid
# area code are by far the most common input, and their E.164 form is plain arithmetic.
_NANP_REGIONS = frozenset(region for region in phonenumbers.SUPPORTED_REGIONS
                          if phonenumbers.country_code_for_region(region) == 1)
_AREA_CODE_FIRST_DIGITS = frozenset("23456789")


class NumberReading(Enum):
    """How a digits-only number (no '+') in a field is read."""

    # National in the given region, or with that region's country code: mGage `number`.
    NATIONAL = "national"
    # Always with its country code: Webex MSISDN keys, WhatsApp recipients.
    INTERNATIONAL = "international"
    # Sent to the given country: international when the digits start with that country's code
    # and read that way they are valid there while the national reading is not; else national
    # there (CINNOX SMS `recipient` with `recipientCountry`).
    IN_COUNTRY = "in_country"


def to_e164(raw: str, default_region: str,
            reading: NumberReading = NumberReading.NATIONAL) -> str | None:
    """`raw` in E.164 (`+15556667777`), or None when it is not a possible phone number.

    A number written with '+' is read as written whatever the field. Without it, `reading`
    decides (see NumberReading); `default_region` is the region of the NATIONAL and IN_COUNTRY
    readings. The NATIONAL reading tries '+digits' second, for an international number sent
    without its '+' to a field that is usually national."""
    text = raw.strip()
    if not text:
        return None
    if text.isdigit():
        if reading is NumberReading.INTERNATIONAL:
            return _parse_e164(f"+{text}", default_region)
        if reading is NumberReading.NATIONAL and default_region in _NANP_REGIONS:
            # What libphonenumber answers for these, without its parser (tests check they agree).
            if len(text) == 10 and text[0] in _AREA_CODE_FIRST_DIGITS:
                return f"+1{text}"
            if len(text) == 11 and text[0] == "1" and text[1] in _AREA_CODE_FIRST_DIGITS:
                return f"+{text}"
        if reading is NumberReading.IN_COUNTRY:
            return _in_country(text, default_region)
    return _parse_e164(text, default_region)


@lru_cache(maxsize=32_768)
def _parse_e164(text: str, default_region: str) -> str | None:
    """The general case, through libphonenumber's parser; cached, as recipients recur."""
    candidates = [text] if text.startswith("+") else [text, f"+{text}"]
    for candidate in candidates:
        number = _parse(candidate, default_region)
        if number is not None and phonenumbers.is_possible_number(number):
            return _e164(number)
    return None


@lru_cache(maxsize=32_768)
def _in_country(digits: str, region: str) -> str | None:
    # A valid national reading wins outright, so the international one is parsed only when it
    # could change the answer: this is the common case (libphonenumber reads digits that start
    # with the region's country code as such), and it halves the parsing of a CINNOX page.
    national = _parse(digits, region)
    if national is not None and phonenumbers.is_valid_number(national):
        return _e164(national)
    international = _parse(f"+{digits}", region)
    if (international is not None
            and international.country_code == phonenumbers.country_code_for_region(region)
            and phonenumbers.is_valid_number(international)):
        return _e164(international)
    for number in (national, international):
        if number is not None and phonenumbers.is_possible_number(number):
            return _e164(number)
    return None


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
