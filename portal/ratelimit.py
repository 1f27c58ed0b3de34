"""A fixed-window request counter kept in the cache (Redis in production, shared by every web
process), for the form posts that send e-mail or check passwords."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


def client_ip(request) -> str:
    """The client's address; X-Forwarded-For is believed only for TRUSTED_PROXY_COUNT hops."""
    hops = settings.AXES_IPWARE_PROXY_COUNT or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        chain = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(chain) >= hops:
            return chain[-hops]
    return request.META.get("REMOTE_ADDR", "unknown")


def allow(scope: str, key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one hit for (scope, key) in the current window; False once `limit` is passed."""
    window = int(time.time() // window_seconds)
    cache_key = f"ratelimit:{scope}:{key}:{window}"
    # add() is a no-op when the key exists, so the first hit of a window starts it at zero.
    cache.add(cache_key, 0, timeout=window_seconds + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, timeout=window_seconds + 5)
        count = 1
    return count <= limit
