"""The audit log's vocabulary: every action the portal records, with words for people.

One list, so that a reader of the log (or of `verify_audit_chain`) finds each action once, and
`audit.record` refuses a name that is not here: a typo is an error, not a new kind of event."""

from __future__ import annotations

from django.db import models


class AuditAction(models.TextChoices):
    # The application's labels are the words of its timeline, which the applicant reads.
    # Applications (requests.services.applications, requests.services.application_workflow)
    APPLICATION_CREATED = "application.created", "Draft started"
    APPLICATION_COLLABORATOR_INVITED = "application.collaborator_invited", "Collaborator invited"
    APPLICATION_DOCUMENT_ADDED = "application.document_added", "Document uploaded"
    APPLICATION_AGREEMENTS_ACCEPTED = "application.agreements_accepted", "Agreements accepted"
    APPLICATION_SUBMITTED = "application.submitted", "Submitted"
    APPLICATION_UNDER_REVIEW = "application.under_review", "Review started"
    APPLICATION_RETURNED = "application.returned", "Application returned to the applicant"
    APPLICATION_DECIDED = "application.decided", "Decided"
    APPLICATION_WITHDRAWN = "application.withdrawn", "Withdrawn"
    APPLICATION_CLOSED = "application.closed", "Closed"
    # Reviews (requests.services.reviews)
    REVIEW_OPENED = "review.opened", "Review opened"
    REVIEW_REOPENED = "review.reopened", "Review reopened after resubmission"
    REVIEW_VOTED = "review.voted", "Vote cast"
    REVIEW_CONFLICT_DECLARED = "review.conflict_declared", "Conflict of interest declared"
    REVIEW_DISCUSSION = "review.discussion", "Committee discussion written"
    REVIEW_TO_APPLICANT = "review.to_applicant", "Message sent to the applicant"
    REVIEW_RETURNED = "review.returned", "Review returned to the applicant"
    REVIEW_DECIDED = "review.decided", "Review decided"
    REVIEW_WITHDRAWN = "review.withdrawn", "Review withdrawn"
    # Permits (requests.services.permits)
    PERMIT_ISSUED = "permit.issued", "Permit issued"
    PERMIT_REPLACED = "permit.replaced", "Permit replaced by a later approval"
    PERMIT_REVOKED = "permit.revoked", "Permit revoked"
    # Accounts (accounts.services)
    ACCOUNT_CREATED_FEDERATED = "account.created_federated", "Account created at a first federated sign-in"
    ACCOUNT_IDENTITY_LINKED = "account.identity_linked", "Federated identity linked"
    ACCOUNT_IDENTITY_UNLINKED = "account.identity_unlinked", "Federated identity unlinked"
    ACCOUNT_TOKENS_REVOKED = "account.tokens_revoked", "Personal API tokens revoked with a password change"
    # Committees and datasets (datasets.services)
    DAC_POLICY_CHANGED = "dac.policy_changed", "Committee policy changed"
    DAC_ROLE_GRANTED = "dac.role_granted", "Committee role granted"
    DAC_ROLE_REMOVED = "dac.role_removed", "Committee role removed"
    DATASET_DATA_USE_CHANGED = "dataset.data_use_changed", "Dataset data use changed"
    DATASET_RESOURCE_ID_CHANGED = "dataset.resource_id_changed", "Dataset resource identifier changed"
    # Data nodes and their keys (datasets)
    NODE_CREATED = "node.created", "Data node created"
    NODE_CHANGED = "node.changed", "Data node changed"
    NODE_WEBHOOK_SET = "node.webhook_set", "Data node webhook set"
    NODE_WEBHOOK_CLEARED = "node.webhook_cleared", "Data node webhook removed"
    NODE_KEY_CREATED = "node_key.created", "Node API key created"
    NODE_KEY_REVOKED = "node_key.revoked", "Node API key revoked"
    # The kernel
    SIGNING_KEY_ROTATED = "signing_key.rotated", "Visa signing key rotated"
