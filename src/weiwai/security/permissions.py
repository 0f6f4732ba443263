"""What each role may do, as data: one table, read by the routes, the tests and docs/roles.md.

A route names the one permission it needs (`weiwai.web.deps.require`). Whether the
principal may see the particular case, agency or statement is a separate question,
answered by the data-level rules in `weiwai.security.scope`: a permission opens the
route, the scope decides which rows it shows.

API tokens of agency systems carry scopes: a subset of TOKEN_SCOPES, chosen when the
token is created. A token may never do more than an agency manager.
"""

from __future__ import annotations

from enum import StrEnum

from weiwai.security.models import Role


class Permission(StrEnum):
    portfolio_read = "portfolio.read"
    personal_data_reveal = "personal_data.reveal"
    agencies_read = "agencies.read"
    agencies_write = "agencies.write"
    contracts_read = "contracts.read"
    contracts_write = "contracts.write"
    contracts_approve = "contracts.approve"
    screening_read = "screening.read"
    screening_write = "screening.write"
    placements_read = "placements.read"
    placements_write = "placements.write"
    cases_read = "cases.read"
    cases_manage = "cases.manage"  # recall, reassign, extend, return: the lender's decisions
    cases_assign = "cases.assign"  # give a case to one of the agency's collectors
    queue_read = "queue.read"
    queue_policy_write = "queue_policy.write"
    actions_read = "actions.read"
    actions_write = "actions.write"
    handover_read = "handover.read"
    handover_write = "handover.write"
    handover_download = "handover.download"
    payments_read = "payments.read"
    payments_write = "payments.write"
    statements_read = "statements.read"
    evaluations_read = "evaluations.read"
    scorecards_read = "scorecards.read"
    jobs_read = "jobs.read"
    jobs_run = "jobs.run"
    users_read = "users.read"
    users_write = "users.write"
    tokens_manage = "tokens.manage"
    audit_read = "audit.read"
    compliance_check = "compliance.check"  # pre-contact checks and their reservations
    holds_read = "holds.read"  # debtors' contact holds and preferences
    holds_write = "holds.write"  # set and lift holds, record and revoke preferences
    holds_report = "holds.report"  # an agency reports a dispute, a stop request or a refusal on its case
    violations_read = "violations.read"  # compliance violations (an agency manager: their agency's)
    templates_read = "templates.read"  # approved message templates (lender staff: every status)
    templates_write = "templates.write"  # draft, change and submit message templates
    templates_approve = "templates.approve"  # approve, reject and retire templates (four-eyes)
    complaints_read = "complaints.read"
    complaints_write = "complaints.write"
    agency_reviews_read = "agency_reviews.read"
    agency_reviews_write = "agency_reviews.write"  # reviews (CN-11), lifting placement blocks
    collectors_qualify = "collectors.qualify"
    # Data protection (issue 6)
    numbers_resolve = "numbers.resolve"  # turn a number reference into the number, to dial it (recorded)
    entrustments_read = "entrustments.read"  # entrustment records and impact assessments
    entrustments_write = "entrustments.write"  # record and change entrustments (PIPL art. 21)
    impact_assessments_write = "impact_assessments.write"  # file and approve impact assessments (art. 55-56)
    deletion_read = "deletion.read"  # handover copies due for deletion, certificates
    deletion_certify = "deletion.certify"  # an agency certifies it deleted its copies
    leaks_read = "leaks.read"  # canary sightings and leak traces
    leaks_trace = "leaks.trace"  # trace a leaked file to its agency and package
    infosec_reviews_read = "infosec_reviews.read"
    infosec_reviews_write = "infosec_reviews.write"  # reviews, findings, remediation


P = Permission

# Everything lender staff may read about the book and its outsourcing, without changing it.
_LENDER_READ = frozenset({
    P.portfolio_read, P.agencies_read, P.contracts_read, P.screening_read, P.placements_read, P.cases_read,
    P.queue_read, P.actions_read, P.handover_read, P.payments_read, P.statements_read, P.evaluations_read,
    P.scorecards_read, P.jobs_read, P.violations_read,
    P.templates_read, P.complaints_read, P.agency_reviews_read,
    P.entrustments_read, P.deletion_read, P.infosec_reviews_read,
})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.admin: frozenset(Permission),
    Role.operations: _LENDER_READ | {
        P.personal_data_reveal, P.agencies_write, P.contracts_write, P.contracts_approve, P.screening_write,
        P.placements_write, P.cases_manage, P.queue_policy_write, P.actions_write, P.handover_write,
        P.handover_download, P.jobs_run, P.compliance_check, P.holds_read, P.holds_write,
        P.templates_write, P.complaints_write, P.numbers_resolve, P.entrustments_write,
    },
    Role.compliance: _LENDER_READ | {P.compliance_check, P.holds_read, P.holds_write,
                                     P.personal_data_reveal, P.contracts_approve, P.audit_read,
                                     P.complaints_write, P.agency_reviews_write, P.collectors_qualify,
                                     P.templates_write, P.templates_approve, P.entrustments_write,
                                     P.impact_assessments_write, P.leaks_read, P.leaks_trace},
    Role.infosec: _LENDER_READ | {P.personal_data_reveal, P.users_read, P.tokens_manage, P.audit_read,
                                  P.impact_assessments_write, P.leaks_read, P.leaks_trace, P.infosec_reviews_write},
    Role.finance: _LENDER_READ | {P.payments_write},
    Role.auditor: _LENDER_READ | {P.users_read, P.audit_read, P.leaks_read},
    Role.agency_manager: frozenset({
        P.agencies_read, P.contracts_read, P.cases_read, P.cases_assign, P.queue_read, P.actions_read,
        P.actions_write, P.handover_read, P.handover_download, P.statements_read, P.scorecards_read,
        P.users_read, P.users_write, P.tokens_manage, P.compliance_check, P.holds_report, P.violations_read,
        P.complaints_read, P.agency_reviews_read,
        P.collectors_qualify, P.templates_read, P.numbers_resolve, P.entrustments_read, P.deletion_read,
        P.deletion_certify, P.infosec_reviews_read,
    }),
    Role.collector: frozenset({
        P.compliance_check, P.holds_report, P.cases_read, P.queue_read, P.actions_read, P.actions_write,
        P.templates_read, P.numbers_resolve,
    }),
}

# What an agency system's API token may be granted (a token acts for its whole agency).
TOKEN_SCOPES = frozenset({
    P.compliance_check, P.holds_report,
    P.templates_read,
    P.cases_read, P.queue_read, P.actions_read, P.actions_write, P.handover_read, P.handover_download,
    P.numbers_resolve,
})
# A dialer checks before it calls (POST /contact-checks), then logs what happened.
DEFAULT_TOKEN_SCOPES = frozenset({P.cases_read, P.actions_read, P.actions_write, P.compliance_check})


def permissions_of(role: Role) -> frozenset[Permission]:
    return ROLE_PERMISSIONS[Role(role)]


def roles_with(permission: Permission) -> list[Role]:
    """The roles holding `permission`, in the order of the Role enum."""
    return [role for role in Role if permission in ROLE_PERMISSIONS[role]]
