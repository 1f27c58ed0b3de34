"""Where a page may send a person next: the one rule for a `next` address from the request."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, candidate: str) -> str:
    """`candidate` when it is an address on this site (https kept https), else empty: an open
    redirect would let a link that looks like ours send people elsewhere."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""
