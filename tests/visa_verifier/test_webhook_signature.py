"""The receiver's check of webhook signatures (visa_verifier.webhook): genuine and fresh passes;
anything altered, mis-keyed, stale, early or malformed is refused with its reason."""

from __future__ import annotations

import hashlib
import hmac
import subprocess
import sys
from pathlib import Path

import pytest

from visa_verifier.webhook import WebhookSignatureError, sign, verify_signature

SECRET = "whsec_" + "s" * 43
BODY = b'{"permit_id":42,"user":"3f1c2a9e-8d4b-4f6a-9c1e-2b7d5e8f0a13","event":"issued"}'
NOW = 1_800_000_000


def test_a_genuine_fresh_request_passes():
    verify_signature(SECRET, BODY, sign(SECRET, BODY, NOW), now=NOW)


def test_the_header_is_the_timestamp_and_the_hmac_of_timestamp_dot_body():
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, NOW) == f"t={NOW},v1={expected}"


def test_a_tampered_body_is_refused():
    header = sign(SECRET, BODY, NOW)
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_signature(SECRET, BODY.replace(b"issued", b"revoked"), header, now=NOW)


def test_a_wrong_secret_is_refused():
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_signature("whsec_other", BODY, sign(SECRET, BODY, NOW), now=NOW)


def test_a_timestamp_changed_after_signing_is_refused():
    header = sign(SECRET, BODY, NOW).replace(f"t={NOW}", f"t={NOW + 60}")
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_signature(SECRET, BODY, header, now=NOW)


def test_a_replay_older_than_the_tolerance_is_refused():
    header = sign(SECRET, BODY, NOW - 301)
    with pytest.raises(WebhookSignatureError, match="301 s old"):
        verify_signature(SECRET, BODY, header, now=NOW)


def test_a_timestamp_at_the_edge_of_the_tolerance_passes():
    verify_signature(SECRET, BODY, sign(SECRET, BODY, NOW - 300), now=NOW)
    verify_signature(SECRET, BODY, sign(SECRET, BODY, NOW + 300), now=NOW)


def test_a_timestamp_too_far_in_the_future_is_refused():
    with pytest.raises(WebhookSignatureError, match="in the future"):
        verify_signature(SECRET, BODY, sign(SECRET, BODY, NOW + 301), now=NOW)


def test_the_tolerance_can_be_narrowed():
    with pytest.raises(WebhookSignatureError, match="old"):
        verify_signature(SECRET, BODY, sign(SECRET, BODY, NOW - 10), now=NOW, tolerance=5)


def test_without_now_the_clock_is_used():
    import time

    verify_signature(SECRET, BODY, sign(SECRET, BODY, int(time.time())))
    with pytest.raises(WebhookSignatureError, match="old"):
        verify_signature(SECRET, BODY, sign(SECRET, BODY, int(time.time()) - 3600))


@pytest.mark.parametrize("header", [None, "", "   "])
def test_a_missing_header_is_refused(header):
    with pytest.raises(WebhookSignatureError, match="missing"):
        verify_signature(SECRET, BODY, header, now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        "v1=" + "a" * 64,  # no timestamp
        f"t={NOW}",  # no signature
        f"t={NOW},t={NOW},v1=" + "a" * 64,  # two timestamps
        "t=yesterday,v1=" + "a" * 64,
        "t=-5,v1=" + "a" * 64,
        "t=" + "9" * 5000 + ",v1=" + "a" * 64,
        f"t={NOW},v1=abc",  # not a SHA-256 in hex
        f"t={NOW},v1=" + "g" * 64,
        f"t={NOW};v1=" + "a" * 64,  # wrong separator
        "sha256=" + "a" * 64,
    ],
)
def test_a_malformed_header_is_refused(header):
    with pytest.raises(WebhookSignatureError, match="malformed"):
        verify_signature(SECRET, BODY, header, now=NOW)


def test_several_v1_values_pass_when_one_matches_as_during_a_rotation():
    old = sign("whsec_old", BODY, NOW).split(",v1=")[1]
    new = sign(SECRET, BODY, NOW).split(",v1=")[1]
    verify_signature(SECRET, BODY, f"t={NOW},v1={old},v1={new}", now=NOW)
    verify_signature("whsec_old", BODY, f"t={NOW}, v1={old}, v1={new}", now=NOW)
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_signature("whsec_third", BODY, f"t={NOW},v1={old},v1={new}", now=NOW)


def test_unknown_schemes_are_skipped_so_the_portal_may_add_one():
    header = sign(SECRET, BODY, NOW) + ",v2=something-new"
    verify_signature(SECRET, BODY, header, now=NOW)


def test_upper_case_hex_is_accepted():
    header = sign(SECRET, BODY, NOW)
    t, v1 = header.split(",")
    verify_signature(SECRET, BODY, f"{t},{v1.upper().replace('V1=', 'v1=')}", now=NOW)


def test_the_error_is_a_value_error_for_receivers_that_catch_those():
    assert issubclass(WebhookSignatureError, ValueError)


def test_an_empty_secret_is_a_configuration_error_not_a_bad_request():
    with pytest.raises(ValueError, match="no webhook secret") as caught:
        verify_signature("", BODY, sign(SECRET, BODY, NOW), now=NOW)
    assert not isinstance(caught.value, WebhookSignatureError)


def test_the_module_needs_only_the_standard_library():
    # Loaded from its file in a fresh interpreter without site-packages: a node copies this one file.
    code = (
        "import sys, importlib.util\n"
        "before = set(sys.modules)\n"
        "spec = importlib.util.spec_from_file_location('webhook', 'visa_verifier/webhook.py')\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "foreign = sorted(new - sys.stdlib_module_names - {'webhook'})\n"
        "assert not foreign, foreign\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
