"""Validators for identifiers researchers type: ORCID iDs and ROR ids."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

_ORCID = re.compile(r"^(?:https?://orcid\.org/)?(\d{4})-(\d{4})-(\d{4})-(\d{3}[\dX])$")
_ROR = re.compile(r"^https://ror\.org/0[a-hj-km-np-tv-z0-9]{6}\d{2}$")


def orcid_checksum_ok(digits: str) -> bool:
    """ISO 7064 MOD 11-2 over the first 15 digits, compared with the 16th (X means 10)."""
    total = 0
    for char in digits[:-1]:
        total = (total + int(char)) * 2
    check = (12 - total % 11) % 11
    return digits[-1] == ("X" if check == 10 else str(check))


def normalise_orcid(value: str) -> str:
    """`0000-0002-1825-0097` from either the bare iD or its https://orcid.org/ URL."""
    match = _ORCID.match(value.strip())
    if not match:
        raise ValidationError(
            "Enter an ORCID iD like 0000-0002-1825-0097 (or its https://orcid.org/ address).", code="orcid_format"
        )
    if not orcid_checksum_ok("".join(match.groups())):
        raise ValidationError("This ORCID iD has a wrong check digit; please copy it again.", code="orcid_checksum")
    return "-".join(match.groups())


def validate_orcid(value: str) -> None:
    normalise_orcid(value)


def validate_ror_id(value: str) -> None:
    if not _ROR.match(value):
        raise ValidationError("Enter a ROR id as its full address, like https://ror.org/040af2s02.", code="ror_format")
