"""The API's request-rate limits, counted per client address as portal.ratelimit.client_ip
reads it: X-Forwarded-For is believed only for the TRUSTED_PROXY_COUNT proxies in front of the
portal, like every other limit (sign-in, forms, credentials), so a client cannot pick a new
address per request."""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from portal.ratelimit import client_ip


class ClientAddressScopedThrottle(ScopedRateThrottle):
    """DRF's scoped throttle (the view's `throttle_scope`, the rate from DEFAULT_THROTTLE_RATES),
    keyed by the signed-in person or else the client address the portal trusts."""

    def get_ident(self, request) -> str:
        return client_ip(request)

    def get_rate(self):
        # Read at each request rather than when the class was imported, so that a changed setting
        # (a test's, or a reloaded configuration) applies at once.
        self.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        return super().get_rate()
