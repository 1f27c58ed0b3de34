"""Who may see and do what with applications. Every read of an application by a person goes
through `applications_visible_to`; a missing and a forbidden application both answer 404."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from datasets.permissions import VIEW_WORK, dacs_where
from requests.models import Application, ApplicationStatus, Document, Review

# A committee sees an application once it has been submitted to it, and keeps seeing it.
REVIEWABLE = [s for s in ApplicationStatus.values if s != ApplicationStatus.DRAFT]


def applications_visible_to(user) -> QuerySet[Application]:
    """Own applications, those the user collaborates on (by account, or by the verified e-mail
    address the invitation went to) and those reviewed by the user's committees."""
    if user is None or not user.is_authenticated:
        return Application.objects.none()
    mine = Q(applicant=user) | Q(collaborators__user=user)
    if user.email_verified:
        mine |= Q(collaborators__email__iexact=user.email)
    reviewing = Q(reviews__dac__in=dacs_where(user, VIEW_WORK), status__in=REVIEWABLE)
    # A subquery keeps the joins of the OR from duplicating rows in the outer query.
    ids = Application.objects.filter(mine | reviewing).values("pk")
    return Application.objects.filter(pk__in=ids)


def applications_owned_by(user) -> QuerySet[Application]:
    """Applications the user may change: only the applicant's own."""
    if user is None or not user.is_authenticated:
        return Application.objects.none()
    return Application.objects.filter(applicant=user)


def is_participant(user, application: Application) -> bool:
    """The applicant or an invited collaborator (they accept agreements and see everything)."""
    if application.applicant_id == user.pk:
        return True
    linked = Q(user=user) | (Q(email__iexact=user.email) if user.email_verified else Q(pk__in=[]))
    return application.collaborators.filter(linked).exists()


def documents_visible_to(user) -> QuerySet[Document]:
    """Documents of the applications the user may read (applicant, collaborators, reviewing DACs)."""
    return Document.objects.filter(application__in=applications_visible_to(user))


def may_on_review(user, review: Review, perm: str) -> bool:
    """Whether the user holds a committee permission (VOTE, DECIDE, ...) on the review's committee."""
    return dacs_where(user, perm).filter(pk=review.dac_id).exists()
