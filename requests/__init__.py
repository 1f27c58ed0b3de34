"""Access applications, DAC reviews, decisions and permits.

This package is named like the PyPI library `requests` and shadows it whenever the project
root is on sys.path; the project therefore never depends on that library (httpx does outbound
HTTP) and tests/test_dependency_guard.py fails if anything starts to need it.
"""
