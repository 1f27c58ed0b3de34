"""Who may see and do what with applications, reviews and permits.

`access_application`, `access_review` and `access_permit` fetch and authorise in one call, for
pages and APIs alike, before any input is read: an object the user may not see is missing
(Http404, so a missing and a forbidden object answer the same 404); one they see but may not
act on raises NotAllowed (403 on a page and in the API). `read_scope` says which part of an
application a reader reads: several committees may review one application, and each reads the
shared project and only its own part (requests.selectors.parts)."""

from __future__ import annotations

from enum import StrEnum

from django.db.models import Q, QuerySet
from django.http import Http404

from datasets.permissions import VIEW_WORK, dacs_where
from portal.exceptions import NotAllowed
from requests.models import Application, ApplicationStatus, Document, Permit, Review
from requests.selectors.applications import participant_condition
from requests.selectors.parts import EVERY_PART, ReadScope
from requests.selectors.permits import permits_seen_by
from requests.selectors.reviews import holds_role, reviews_visible_to

# A committee sees an application once it has been submitted to it, and keeps seeing it.
REVIEWABLE = [s for s in ApplicationStatus.values if s != ApplicationStatus.DRAFT]


class ApplicationAction(StrEnum):
    READ = "read"  # the applicant, collaborators, the reviewing committees
    TAKE_PART = "take_part"  # the applicant and collaborators (accept agreements)
    CHANGE = "change"  # the applicant alone (edit, upload, submit, withdraw)


def applications_visible_to(user) -> QuerySet[Application]:
    """Own applications, those the user collaborates on (by account, or by the verified e-mail
    address the invitation went to) and those reviewed by the user's committees."""
    if user is None or not user.is_authenticated:
        return Application.objects.none()
    reviewing = Q(reviews__dac__in=dacs_where(user, VIEW_WORK), status__in=REVIEWABLE)
    # A subquery keeps the joins of the OR from duplicating rows in the outer query.
    ids = Application.objects.filter(participant_condition(user) | reviewing).values("pk")
    return Application.objects.filter(pk__in=ids)


def is_participant(user, application: Application) -> bool:
    """The applicant or an invited collaborator (they accept agreements and see everything)."""
    if application.applicant_id == user.pk:
        return True
    return Application.objects.filter(participant_condition(user), pk=application.pk).exists()


def documents_visible_to(user) -> QuerySet[Document]:
    """Documents of the applications the user may read (applicant, collaborators, reviewing DACs)."""
    return Document.objects.filter(application__in=applications_visible_to(user))


def access_application(user, pk: int, action: ApplicationAction = ApplicationAction.READ) -> Application:
    """The application `pk` if `user` may do `action` on it: Http404 when they may not see it,
    NotAllowed when they see it but may not act."""
    app = applications_visible_to(user).filter(pk=pk).select_related("applicant__institution").first()
    if app is None:
        raise Http404("No such application")
    if action == ApplicationAction.CHANGE and app.applicant_id != user.pk:
        raise NotAllowed("Only the applicant may do this.")
    if action == ApplicationAction.TAKE_PART and not is_participant(user, app):
        raise NotAllowed("Only the applicant and invited collaborators may do this.")
    return app


def read_scope(user, application: Application) -> ReadScope:
    """The part of `application` (fetched with access_application) that `user` reads: the
    applicant and collaborators every part; anyone else, the member of a reviewing committee,
    only the part of each committee on which they hold a role, besides the shared project."""
    if is_participant(user, application):
        return EVERY_PART
    return ReadScope(frozenset(dacs_where(user, VIEW_WORK).values_list("pk", flat=True)))


def access_review(user, pk: int, perm: str = VIEW_WORK) -> Review:
    """The review `pk` if `user` holds `perm` (VIEW_WORK, VOTE, DECIDE) on its committee:
    Http404 when they have no role there, NotAllowed when their role does not allow `perm`."""
    review = reviews_visible_to(user, pk=pk).select_related("dac", "application__applicant").first()
    if review is None:
        raise Http404("No such review")
    if perm != VIEW_WORK and not holds_role(user, review.dac_id, perm):
        raise NotAllowed("Your role on this committee does not allow this action.")
    return review


class PermitAction(StrEnum):
    READ = "read"  # the grantee and every role on the dataset's committee
    REVOKE = "revoke"  # the committee's chair


def access_permit(user, pk: int, action: PermitAction = PermitAction.READ) -> Permit:
    """The permit `pk` if `user` may do `action` on it (one query): Http404 when they neither
    hold it nor have a role on its committee, NotAllowed when they may see but not revoke."""
    permit = permits_seen_by(user).filter(pk=pk).first()
    if permit is None:
        raise Http404("No such permit")
    if action == PermitAction.REVOKE and not permit.may_revoke:
        raise NotAllowed("Only the chair of the dataset's committee revokes its permits.")
    return permit
