"""Roles and what each may do.

Roles are the ones DESIGN.md names. Permissions are an explicit table rather than checks
scattered through the code, so that a supervisor can read in one place who may do what.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    analyst = "analyst"
    targeter = "targeter"
    precursor_officer = "precursor_officer"
    liaison = "liaison"
    lab = "lab"
    #: Staff of a chemical company submitting its own records; never sees alerts.
    operator = "operator"


class Permission(enum.StrEnum):
    alerts_read = "alerts:read"
    alerts_work = "alerts:work"  # triage, assign, comment, close
    alerts_create = "alerts:create"
    audit_read = "audit:read"
    users_manage = "users:manage"
    webhooks_manage = "webhooks:manage"
    share_records = "records:share"
    #: Search spectral libraries and read identifications.
    spectra_identify = "spectra:identify"
    #: Build and extend spectral libraries.
    spectra_manage = "spectra:manage"
    #: Read the intelligence file (entities, provenance, link charts); audited per entity.
    network_read = "network:read"
    #: Import into the intelligence file and judge entity-resolution pairs.
    network_write = "network:write"
    #: Read the precursor register: operators, transactions, stocks, returns, notifications.
    precursors_read = "precursors:read"
    #: Keep the register: operators, authorisations, pre-export notifications, check runs.
    precursors_manage = "precursors:manage"
    #: Submit transaction records (an operator: only its own company's).
    precursors_submit = "precursors:submit"
    #: Read the targeting queue, consignments, their scores, rule profiles and models.
    targeting_read = "targeting:read"
    #: Submit consignments for scoring (declaration systems, officers) and import files.
    targeting_submit = "targeting:submit"
    #: Record inspection results against consignments.
    targeting_inspect = "targeting:inspect"
    #: Edit rule profiles, train and activate models.
    targeting_manage = "targeting:manage"
    #: Read seizures, marks, lab profiles, links, the map and the dashboard.
    seizures_read = "seizures:read"
    #: Record seizures, photograph marks and add lab reports; import seizure files.
    seizures_write = "seizures:write"
    #: Confirm or reject links between seizures (a confirmed link enters the entity graph).
    seizures_link = "seizures:link"
    #: Read the agency's exchange messages, threads and permission requests (each read of a
    #: message is audited).
    exchange_read = "exchange:read"
    #: Send, reply, forward (within handling codes), request and grant permissions.
    exchange_send = "exchange:send"


_OFFICERS = {Permission.alerts_read, Permission.alerts_work, Permission.alerts_create,
             Permission.spectra_identify, Permission.network_read}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.supervisor: frozenset(
        _OFFICERS | {Permission.audit_read, Permission.webhooks_manage, Permission.share_records,
                     Permission.spectra_manage, Permission.network_write,
                     Permission.precursors_read, Permission.targeting_read,
                     Permission.targeting_manage, Permission.seizures_read,
                     Permission.seizures_link, Permission.exchange_read,
                     Permission.exchange_send}
    ),
    Role.analyst: frozenset(_OFFICERS | {Permission.share_records, Permission.network_write,
                                         Permission.targeting_read, Permission.seizures_read,
                                         Permission.seizures_write, Permission.seizures_link,
                                         Permission.exchange_read, Permission.exchange_send}),
    Role.targeter: frozenset(_OFFICERS | {
        Permission.targeting_read, Permission.targeting_submit, Permission.targeting_inspect,
        Permission.targeting_manage, Permission.seizures_read, Permission.seizures_write,
        Permission.exchange_read, Permission.exchange_send}),
    Role.precursor_officer: frozenset(_OFFICERS | {
        Permission.precursors_read, Permission.precursors_manage, Permission.precursors_submit,
        Permission.exchange_read, Permission.exchange_send}),
    Role.liaison: frozenset(_OFFICERS | {Permission.share_records, Permission.seizures_read,
                                         Permission.exchange_read, Permission.exchange_send}),
    Role.lab: frozenset({Permission.alerts_read, Permission.alerts_create,
                         Permission.spectra_identify, Permission.spectra_manage,
                         Permission.seizures_read, Permission.seizures_write}),
    Role.operator: frozenset({Permission.precursors_submit}),
}


def permissions_for(roles: frozenset[Role] | set[Role]) -> frozenset[Permission]:
    perms: set[Permission] = set()
    for role in roles:
        perms |= ROLE_PERMISSIONS[role]
    return frozenset(perms)
