"""Configuration from the command line and the environment, shared by the CLI and the demo node.

VISA_TRUSTED_ISSUERS   issuers to trust, separated by spaces or commas; each `ISSUER` or
                       `ISSUER=JWKS_URL` (default JWKS URL: ISSUER/.well-known/jwks.json)
VISA_CLOCK_SKEW        allowed clock difference in seconds (default 60)
VISA_ALGORITHMS        allowed algorithms, a subset of "ES256 RS256" (default both)
VISA_RESOURCES         resource ids a visa's value may carry, each mapped to an accession:
                       `RESOURCE_ID=ACCESSION`, separated by spaces or commas
PORTAL_URL             the portal, for online introspection (default: the first trusted issuer)
NODE_API_KEY           the node's API key; when set, checks are also made online
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

from visa_verifier.verifier import SUPPORTED_ALGORITHMS, Config, TrustedIssuer


def _words(text: str) -> list[str]:
    return [word for word in re.split(r"[\s,]+", text or "") if word]


def build_config(
    trust: Sequence[str] = (),
    *,
    skew: int | None = None,
    algorithms: Sequence[str] = (),
    resources: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Config:
    """Arguments win over the environment. Raises ValueError with a message for people."""
    env = os.environ if env is None else env
    entries = list(trust) or _words(env.get("VISA_TRUSTED_ISSUERS", ""))
    if not entries:
        raise ValueError("no trusted issuer: pass --trust ISSUER[=JWKS_URL] or set VISA_TRUSTED_ISSUERS")
    if skew is None:
        raw = env.get("VISA_CLOCK_SKEW", "60")
        try:
            skew = int(raw)
        except ValueError:
            raise ValueError(f"VISA_CLOCK_SKEW must be a whole number of seconds, not {raw!r}") from None
    algorithms = tuple(algorithms) or tuple(_words(env.get("VISA_ALGORITHMS", ""))) or SUPPORTED_ALGORITHMS
    mapping = parse_resources(list(resources) or _words(env.get("VISA_RESOURCES", "")))
    return Config(
        issuers=tuple(TrustedIssuer.parse(entry) for entry in entries),
        clock_skew=skew,
        algorithms=algorithms,
        resources=mapping,
    )


def parse_resources(entries: Sequence[str]) -> dict[str, str]:
    """`RESOURCE_ID=ACCESSION` entries (the form of --resource and VISA_RESOURCES) as a mapping. The
    last `=` separates them, since an accession never holds one. Raises ValueError for people."""
    mapping: dict[str, str] = {}
    for entry in entries:
        resource, separator, accession = entry.strip().rpartition("=")
        resource, accession = resource.strip(), accession.strip()
        if not separator or not resource or not accession:
            raise ValueError(f"a resource mapping is RESOURCE_ID=ACCESSION, not {entry!r}")
        if mapping.get(resource, accession) != accession:
            raise ValueError(f"resource {resource!r} is mapped to two accessions")
        mapping[resource] = accession
    return mapping
