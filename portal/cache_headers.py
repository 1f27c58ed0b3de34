"""Pages and API answers for a signed-in person hold personal data (applications, reviews, tokens,
permits): no browser or proxy cache may keep them, so a shared computer's back button or a proxy
shows nothing after sign-out. A view that sets its own Cache-Control keeps it."""

from __future__ import annotations

from django.utils.cache import patch_cache_control


class NoStoreForSignedInMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Read at the answer: by then the session, or DRF's token authentication, has set the user.
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            patch_cache_control(response, private=True, no_store=True)
        return response
