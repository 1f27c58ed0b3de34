"""The main navigation, by role. Each app's pages add their entries here as they arrive."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str


def navigation_for(user) -> list[NavItem]:
    """Entries a visitor sees: the catalogue for all, basket and profile once signed in, admin for staff."""
    items = [
        NavItem("Datasets", reverse("datasets:catalogue")),
        NavItem("Check a purpose", reverse("datasets:check")),
        NavItem("Committees", reverse("datasets:dac_list")),
    ]
    if user is not None and user.is_authenticated:
        items.append(NavItem("Basket", reverse("requests:basket")))
        items.append(NavItem("My applications", reverse("requests:list")))
        items.append(NavItem("My profile", reverse("accounts:profile")))
        if user.is_staff:
            items.append(NavItem("Administration", reverse("admin:index")))
    return items
