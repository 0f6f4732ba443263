"""The agencies domain's services in one place: agencies (agency_service) and contracts (contract_service).

Every function takes keyword-only arguments, never commits, and raises NotFound,
RuleViolation, Conflict or IllegalTransition. An agency is given as the object, its id
(int) or its code (str); a contract as the object, its id or its contract number.
"""

from weiwai.agencies.agency_service import (
    AgencyRef,
    agency_status_history,
    change_agency_status,
    create_agency,
    get_agency,
    list_agencies,
    record_admission_check,
    update_agency,
)
from weiwai.agencies.contract_service import (
    ContractRef,
    change_contract_status,
    contract_status_history,
    create_contract,
    get_contract,
    list_contracts,
    update_contract,
    usable_contracts,
)
from weiwai.agencies.records import Page

__all__ = [
    "AgencyRef",
    "ContractRef",
    "Page",
    "agency_status_history",
    "change_agency_status",
    "change_contract_status",
    "contract_status_history",
    "create_agency",
    "create_contract",
    "get_agency",
    "get_contract",
    "list_agencies",
    "list_contracts",
    "record_admission_check",
    "update_agency",
    "update_contract",
    "usable_contracts",
]
