"""The walk of issue 7: approve -> passport downloaded -> introspection active -> revoke ->
introspection inactive at once, the changes feed says `revoked`, and the permissions answer no
longer holds the visa."""

import jwt
import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def verified(token: str, jwks: dict) -> dict:
    """Decode with plain PyJWT against the served key set, as any verifier would."""
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    return jwt.decode(token, jwt.PyJWK(key).key, algorithms=[key["alg"]], options={"verify_aud": False})


def test_approve_download_introspect_revoke_and_every_view_agrees(client_for, applicant, applicant_permit):
    researcher, chair, node = client_for("applicant"), client_for("dac_chair"), client_for("node")
    jwks = client_for("anonymous").get(reverse("jwks")).json()

    download = researcher.get(reverse("requests:passport"))
    assert download.status_code == 200
    passport = verified(download.content.decode().strip(), jwks)
    (visa,) = passport["ga4gh_passport_v1"]
    claims = verified(visa, jwks)
    assert claims["sub"] == str(applicant.sub)
    assert claims["ga4gh_visa_v1"]["value"].endswith(f"/datasets/{applicant_permit.dataset.accession}")

    def introspect() -> dict:
        return node.post(reverse("api:permit_introspect"), {"token": visa}, content_type="application/json").json()

    active = introspect()
    assert active["active"] is True
    assert active["permit_id"] == applicant_permit.pk
    permissions_url = reverse("api:permissions", args=[applicant.sub])
    assert len(node.get(permissions_url).json()["ga4gh_passport_v1"]) == 1

    revoked = chair.post(
        reverse("api:permit_revoke", args=[applicant_permit.pk]),
        {"reason": "Data used outside the approved purpose."},
        content_type="application/json",
    )
    assert revoked.status_code == 200

    assert introspect() == {"active": False}
    events = node.get(reverse("api:permit_changes")).json()["changes"]
    assert [(e["permit_id"], e["event"]) for e in events] == [
        (applicant_permit.pk, "issued"),
        (applicant_permit.pk, "revoked"),
    ]
    assert node.get(permissions_url).json() == {"ga4gh_passport_v1": []}
    page = researcher.get(reverse("requests:permits")).content.decode()
    assert "Data used outside the approved purpose." in page
