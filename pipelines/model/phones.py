"""Phone numbers to E.164, with the `phonenumbers` library (Google's libphonenumber metadata)."""

from functools import lru_cache

import phonenumbers

# Regions of the North American Numbering Plan (+1). Their digits-only numbers with a valid
# area code are by far the most common input, and their E.164 form is plain arithmetic.
_NANP_REGIONS = frozenset(region for region in phonenumbers.SUPPORTED_REGIONS
                          if phonenumbers.country_code_for_region(region) == 1)
_AREA_CODE_FIRST_DIGITS = frozenset("23456789")


def to_e164(raw: str, default_region: str) -> str | None:
    """`raw` in E.164 (`+15556667777`), or None when it is not a possible phone number.

    National numbers are read in `default_region`; digits that only make sense with a leading
    `+` (an international number sent without it) are tried that way second."""
    text = raw.strip()
    if default_region in _NANP_REGIONS and text.isdigit():
        # What libphonenumber answers for these, without its parser (tests check they agree).
        if len(text) == 10 and text[0] in _AREA_CODE_FIRST_DIGITS:
            return f"+1{text}"
        if len(text) == 11 and text[0] == "1" and text[1] in _AREA_CODE_FIRST_DIGITS:
            return f"+{text}"
    return _parse_e164(text, default_region) if text else None


@lru_cache(maxsize=32_768)
def _parse_e164(text: str, default_region: str) -> str | None:
    """The general case, through libphonenumber's parser; cached, as recipients recur."""
    candidates = [text] if text.startswith("+") else [text, f"+{text}"]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, default_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None
