"""Keeps third-party code from mistaking our `requests` app for the PyPI `requests` library.

Django REST framework probes for the library with `import requests`; with the project root on
sys.path that finds our app, and `rest_framework.test` (which drf-spectacular imports) then
fails on `requests.packages`. Telling DRF the library is absent is the truth: it is not
installed and may not be (tests/test_dependency_guard.py)."""


def hide_requests_app_from_drf() -> None:
    import rest_framework.compat

    rest_framework.compat.requests = None
