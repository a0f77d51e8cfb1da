"""The kinds of event the audit log records.

Art. 25 of Directive (EU) 2016/680 requires logs of collection, alteration, consultation,
disclosure (including transfers), combination and erasure, with the justification, date and
time and, as far as possible, who consulted or disclosed the data and to whom.
"""

from __future__ import annotations

import enum


class AuditAction(enum.StrEnum):
    login_succeeded = "login.succeeded"
    login_failed = "login.failed"
    login_throttled = "login.throttled"
    logout = "logout"
    agency_created = "agency.created"
    user_created = "user.created"
    #: Deactivation, reactivation or password reset of a user.
    user_changed = "user.changed"
    token_created = "token.created"
    token_revoked = "token.revoked"
    #: Consultation of a record that may hold personal data.
    record_viewed = "record.viewed"
    record_created = "record.created"
    record_changed = "record.changed"
    #: Disclosure to another agency (sharing, exchange, export).
    record_disclosed = "record.disclosed"
    record_erased = "record.erased"
    alert_created = "alert.created"
    alert_changed = "alert.changed"
    webhook_created = "webhook.created"
    webhook_deleted = "webhook.deleted"
