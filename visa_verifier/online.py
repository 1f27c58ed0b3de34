"""Online checks against the portal, with the node's API key: introspection answers at once whether
the permit behind a visa is still live (revocation reaches an online node immediately)."""

from __future__ import annotations

import logging

import httpx

from visa_verifier.verifier import plain_http_elsewhere

logger = logging.getLogger("visa_verifier")


class PortalUnavailable(Exception):
    """The portal could not be asked or did not answer as the contract says."""


class Introspector:
    """POST /api/v1/permits/introspect with `Authorization: Api-Key <node key>`."""

    def __init__(self, portal_url: str, node_key: str, *, http: httpx.Client | None = None, timeout: float = 5.0):
        if not node_key:
            raise ValueError("online checks need the node's API key")
        self.url = portal_url.rstrip("/") + "/api/v1/permits/introspect"
        if plain_http_elsewhere(self.url):
            logger.warning("the node key is sent to %s over plain HTTP: use https", self.url)
        self._headers = {"Authorization": f"Api-Key {node_key}", "Accept": "application/json"}
        self._http = http or httpx.Client(timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def introspect(self, token: str) -> dict:
        """The portal's answer: `{"active": false}` or `{"active": true, "sub", "dataset",
        "permit_id", "exp", "permit_expires_at", "conditions", "dac"}`."""
        try:
            response = self._http.post(self.url, json={"token": token}, headers=self._headers)
        except httpx.HTTPError as error:
            raise PortalUnavailable(f"{self.url}: {error.__class__.__name__}") from None
        if response.status_code == 401:
            raise PortalUnavailable("the portal refused the node key (401): expired, revoked or wrong")
        if response.status_code != 200:
            raise PortalUnavailable(f"{self.url} answered {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            raise PortalUnavailable(f"{self.url} did not answer JSON") from None
        if not isinstance(answer, dict) or not isinstance(answer.get("active"), bool):
            raise PortalUnavailable(f"{self.url} answered without 'active'")
        return answer
