"""With DEBUG on (`make run`), a missing page still shows the portal's own 404 page, as the people
trying the demo would see it in production; Django's page of URL patterns stays for developers
who ask for it with `?debug-404`. DEBUG off: Django's handler404 renders 404.html already."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import render

# Every page of Django's technical views carries this tag; the portal's own pages never do.
_TECHNICAL_PAGE = b'<meta name="robots" content="NONE,NOARCHIVE">'


class PortalNotFoundPageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            settings.DEBUG
            and response.status_code == 404
            and "debug-404" not in request.GET
            and not request.path.startswith("/api/")
            and response.get("Content-Type", "").startswith("text/html")
            and not response.streaming
            and _TECHNICAL_PAGE in response.content
        ):
            return render(request, "404.html", status=404)
        return response
