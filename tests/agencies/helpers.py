"""Shared helpers for the agencies tests: a snapshot of everything a refused request must not
change, and client-side keys and certificate requests made the way an agency's client makes them."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from accounts.models import Organisation, User
from agencies import pki
from agencies.models import (
    AdmissionDecision,
    Agency,
    Certificate,
    CreditEvent,
    CreditListEntry,
    Qualification,
    ServiceEvaluation,
)
from core.models import AuditEntry


def agencies_state() -> dict[str, Any]:
    """Every row a refused request could have touched."""
    return {
        "agencies": sorted(Agency.objects.values_list("pk", "status", "status_reason", "service_categories")),
        "decisions": AdmissionDecision.objects.count(),
        "qualifications": sorted(Qualification.objects.values_list("pk", "withdrawn_at")),
        "certificates": sorted(Certificate.objects.values_list("pk", "revoked_at")),
        "events": sorted(CreditEvent.objects.values_list("pk", "annulled_at")),
        "entries": sorted(CreditListEntry.objects.values_list("pk", "status", "revoked_at")),
        "evaluations": sorted(ServiceEvaluation.objects.values_list("pk", "status")),
        "organisations": Organisation.objects.count(),
        "users": User.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def signing_csr(org: Organisation, key: Any = None) -> tuple[Any, str]:
    """An agency's client: a fresh Ed25519 key and a CSR naming the agency's USCC."""
    key = key or ed25519.Ed25519PrivateKey.generate()
    return key, pki.csr_make(key, pki.Subject(organisation_name=org.name, uscc=org.uscc)).decode()


def holder_csr(user: User, key: Any = None) -> tuple[Any, str]:
    """A key holder's client: a P-256 key and a CSR naming the user and its organisation."""
    key = key or ec.generate_private_key(ec.SECP256R1())
    org = user.organisation
    assert org is not None
    subject = pki.Subject(organisation_name=org.name, uscc=org.uscc, username=user.username)
    return key, pki.csr_make(key, subject).decode()
