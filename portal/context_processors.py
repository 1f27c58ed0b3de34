from django.conf import settings

from portal.navigation import navigation_for


def portal(request) -> dict:
    """The portal's name, the navigation that fits the visitor's roles, and whether local
    passwords exist here (PASSWORD_LOGIN)."""
    user = getattr(request, "user", None)
    return {
        "portal_name": settings.PORTAL_NAME,
        "nav_items": navigation_for(user),
        "password_login": settings.PASSWORD_LOGIN,
    }
