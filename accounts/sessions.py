"""The session store (settings.SESSION_ENGINE): Django's database sessions with an idle timeout
that slides cheaply and an absolute maximum after signing in.

- Idle: a session lives settings.SESSION_COOKIE_AGE after it was last saved (the stored row's
  expiry and the cookie's). A request that reads the session saves it again, moving both forward,
  once that save is at least a minute old: one write a minute per active person instead of one
  per request (SESSION_SAVE_EVERY_REQUEST), at the price of the idle limit being up to a minute
  shorter than set.
- Absolute: a signed-in session is stamped with the time it was first saved signed in, and read
  as empty (signed out) settings.SESSION_MAX_AGE seconds later, however active it was.

Both hold for every way of signing in, since each ends in django.contrib.auth.login (the password
form and the identity provider's sign-in alike), which starts a fresh session. A password change
keeps its session (update_session_auth_hash) and so its stamp: it does not extend the maximum."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.utils import timezone

# When the session was first saved signed in, in seconds since the epoch.
SIGNED_IN_AT = "_signed_in_at"
# The idle expiry slides forward at most this often (or a tenth of the idle limit, if shorter).
REFRESH_SECONDS = 60


class SessionStore(DatabaseSessionStore):
    def load(self) -> dict[str, Any]:
        return self._checked(self._get_session_from_db())

    async def aload(self) -> dict[str, Any]:
        return self._checked(await self._aget_session_from_db())

    def _checked(self, row) -> dict[str, Any]:
        if row is None:
            return {}
        data = self.decode(row.session_data)
        now = timezone.now()
        signed_in_at = data.get(SIGNED_IN_AT)
        if signed_in_at is not None and now.timestamp() - signed_in_at >= settings.SESSION_MAX_AGE:
            # As gone as an expired row: the request is anonymous, and the middleware drops the
            # cookie. The row itself goes with the idle expiry (clearsessions).
            self._session_key = None
            return {}
        idle = self.get_session_cookie_age()
        saved_ago = idle - (row.expire_date - now).total_seconds()
        if saved_ago >= min(REFRESH_SECONDS, idle / 10):
            self.modified = True  # SessionMiddleware saves it and sends the cookie again
        return data

    def create_model_instance(self, data: dict[str, Any]):
        _stamp(data)
        return super().create_model_instance(data)

    async def acreate_model_instance(self, data: dict[str, Any]):
        _stamp(data)
        return await super().acreate_model_instance(data)


def _stamp(data: dict[str, Any]) -> None:
    if SESSION_KEY in data and SIGNED_IN_AT not in data:
        data[SIGNED_IN_AT] = int(timezone.now().timestamp())
