"""Phone numbers to E.164, with the `phonenumbers` library (Google's libphonenumber metadata)."""

from functools import lru_cache

import phonenumbers


@lru_cache(maxsize=262_144)
def to_e164(raw: str, default_region: str) -> str | None:
    """`raw` in E.164 (`+15556667777`), or None when it is not a possible phone number.

    National numbers are read in `default_region`; digits that only make sense with a leading
    `+` (an international number sent without it) are tried that way second. Cached, because
    the same recipients recur on every page."""
    text = raw.strip()
    if not text:
        return None
    candidates = [text] if text.startswith("+") else [text, f"+{text}"]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, default_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None
