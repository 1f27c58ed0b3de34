"""The main navigation, by role. Each app's pages add their entries here as they arrive."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from datasets.permissions import VIEW_WORK, dacs_where


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str


def navigation_for(user) -> list[NavItem]:
    """Entries a visitor sees: the catalogue for all, basket and profile once signed in, committee
    work for committee members, admin for staff."""
    items = [
        NavItem("Datasets", reverse("datasets:catalogue")),
        NavItem("Check a purpose", reverse("datasets:check")),
        NavItem("Committees", reverse("datasets:dac_list")),
    ]
    if user is not None and user.is_authenticated:
        items.append(NavItem("Basket", reverse("requests:basket")))
        items.append(NavItem("My applications", reverse("requests:list")))
        items.append(NavItem("My permits", reverse("requests:permits")))
        # One EXISTS query per page, and only for signed-in visitors.
        if dacs_where(user, VIEW_WORK).exists():
            items.append(NavItem("Committee work", reverse("requests:inbox")))
        if user.is_staff:
            items.append(NavItem("Administration", reverse("admin:index")))
    return items
