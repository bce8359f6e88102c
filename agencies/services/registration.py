"""An agency registers, keeps its profile and qualifications, and re-applies after a refusal."""

from __future__ import annotations

import os
from datetime import date
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction

from accounts.choices import OrganisationKind
from accounts.models import Organisation, User
from accounts.services import uscc_checked
from accounts.validators import validate_region_code
from agencies.choices import AdmissionStatus, RestrictedAction
from agencies.eligibility import agency_may
from agencies.locks import lock_agency
from agencies.models import LOCAL, AdmissionDecision, Agency, Qualification
from core import clock, storage
from core.audit import audit_record
from core.errors import ApplicationError, NotFound
from core.permissions import Action, Role, organisation_id_of, require
from market.choices import Category

QUALIFICATION_PREFIX = "qualifications"
PROFILE_FIELDS = ("legal_representative", "contact_email", "address", "introduction", "service_categories")
ORGANISATION_FIELDS = ("contact_name", "contact_phone")


def _invalid(field: str, en: str, zh: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError(code, en, zh, fields={field: [en]})


def _check_categories(categories: Any) -> list[str]:
    if not isinstance(categories, list) or not categories:
        raise _invalid("service_categories", "Choose at least one service category.", "请至少选择一个服务类别。")
    unknown = [c for c in categories if c not in Category.values]
    if unknown:
        raise _invalid("service_categories", f"Unknown categories: {unknown}.", f"未知服务类别：{unknown}。")
    return sorted(set(categories))


def agency_snapshot(agency: Agency) -> dict[str, Any]:
    org = agency.organisation
    return {
        "name": org.name,
        "uscc": org.uscc,
        "region": org.region,
        "status": agency.status,
        "contact_name": org.contact_name,
        "contact_phone": org.contact_phone,
        **{f: getattr(agency, f) for f in PROFILE_FIELDS},
    }


def record_decision(agency: Agency, *, action: str, before: str, actor: User | None, reason: str) -> None:
    """Append the admission step to the agency's history and to the audit trail."""
    now = clock.now()
    AdmissionDecision.objects.create(
        agency=agency,
        action=action,
        from_status=before,
        to_status=agency.status,
        reason=reason,
        decided_by=actor,
        decided_at=now,
    )
    audit_record(
        actor=actor,
        action=f"agency.{action}",
        obj=agency,
        before={"status": before},
        after={"status": agency.status, "reason": reason},
    )


def agency_register(
    *,
    username: str,
    password: str,
    name: str,
    uscc: str,
    region: str,
    legal_representative: str,
    service_categories: list[str],
    contact_name: str = "",
    contact_phone: str = "",
    contact_email: str = "",
    address: str = "",
    introduction: str = "",
) -> Agency:
    """A new agency and its first user, applying for admission (入驻申请). Anyone may call this."""
    uscc = uscc_checked(uscc)
    categories = _check_categories(service_categories)
    name = (name or "").strip()
    if not name:
        raise _invalid("name", "The agency needs its registered name.", "请填写机构名称。")
    if not (legal_representative or "").strip():
        raise _invalid("legal_representative", "Name the legal representative.", "请填写法定代表人。")
    try:
        validate_region_code(region)
    except ValidationError as exc:
        raise _invalid("region", "; ".join(exc.messages), "行政区划代码无效。") from None
    candidate = User(username=username)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise _invalid("password", " ".join(exc.messages), "密码不符合要求。", code="weak_password") from None
    now = clock.now()
    try:
        with transaction.atomic():
            if Organisation.objects.filter(uscc=uscc).exists():
                raise ApplicationError(
                    "uscc_registered",
                    "An organisation with this code is already registered; its users can log in and re-apply.",
                    "该统一社会信用代码已注册，请登录原账号重新申请。",
                    status=409,
                    fields={"uscc": ["already registered"]},
                )
            if Organisation.objects.filter(name=name).exists():
                raise ApplicationError(
                    "name_registered", "This name is already registered.", "该机构名称已注册。", status=409
                )
            if User.objects.filter(username=username).exists():
                raise ApplicationError("username_taken", "This username is taken.", "用户名已被占用。", status=409)
            org = Organisation.objects.create(
                kind=OrganisationKind.AGENCY,
                name=name,
                uscc=uscc,
                region=region,
                contact_name=contact_name.strip(),
                contact_phone=contact_phone.strip(),
            )
            user = User.objects.create_user(username=username, password=password, organisation=org, role=Role.AGENCY)
            agency = Agency.objects.create(
                organisation=org,
                legal_representative=legal_representative.strip(),
                contact_email=contact_email.strip(),
                address=address.strip(),
                introduction=introduction.strip(),
                service_categories=categories,
                applied_at=now,
            )
            AdmissionDecision.objects.create(
                agency=agency, action="apply", from_status="", to_status=agency.status, decided_by=user, decided_at=now
            )
            audit_record(actor=user, action="agency.register", obj=agency, after=agency_snapshot(agency))
    except IntegrityError:
        # Someone registered the same code, name or username at the same moment; the checks above
        # answer precisely when it is not a race.
        raise ApplicationError(
            "already_registered",
            "The code, name or username was registered a moment ago.",
            "该代码、名称或用户名刚刚已被注册。",
            status=409,
        ) from None
    return agency


def own_agency(actor: User) -> Agency:
    """The caller's agency (agency users only)."""
    require(actor, Action.AGENCY_MANAGE_OWN)
    agency = Agency.objects.select_related("organisation").filter(organisation_id=organisation_id_of(actor)).first()
    if agency is None:
        raise NotFound("Your organisation has no agency profile.", "您的机构尚无中介机构档案。")
    return agency


def agency_update_profile(*, actor: User, data: dict[str, Any]) -> Agency:
    """The agency edits its own contacts, introduction and service categories. Name, USCC and
    region are registry facts: changing them means a new registration."""
    agency_id = own_agency(actor).pk
    unknown = set(data) - set(PROFILE_FIELDS) - set(ORGANISATION_FIELDS)
    if unknown:
        raise ApplicationError(
            "not_editable", f"These fields cannot be changed here: {sorted(unknown)}.", "这些信息不能在此修改。"
        )
    if "service_categories" in data:
        data = {**data, "service_categories": _check_categories(data["service_categories"])}
    if "legal_representative" in data and not str(data["legal_representative"]).strip():
        raise _invalid("legal_representative", "Name the legal representative.", "请填写法定代表人。")
    with transaction.atomic():
        agency = lock_agency(agency_id)
        before = agency_snapshot(agency)
        for field, value in data.items():
            target = agency.organisation if field in ORGANISATION_FIELDS else agency
            setattr(target, field, value.strip() if isinstance(value, str) else value)
        agency.organisation.save()
        agency.save()
        audit_record(
            actor=actor, action="agency.update_profile", obj=agency, before=before, after=agency_snapshot(agency)
        )
    return agency


def agency_reapply(*, actor: User, note: str = "") -> Agency:
    """A returned (or removed) agency applies again, unless a black-list entry bars registering."""
    agency_id = own_agency(actor).pk
    with transaction.atomic():
        agency = lock_agency(agency_id)
        if agency.status not in (AdmissionStatus.RETURNED, AdmissionStatus.REMOVED):
            raise ApplicationError(
                "invalid_state",
                "Only a returned or removed agency can apply again.",
                "只有被退回或清退的机构可以重新申请。",
                status=409,
            )
        verdict = agency_may(agency, RestrictedAction.REGISTER)
        if not verdict:
            raise ApplicationError(verdict.code, verdict.detail, verdict.detail_zh, status=403)
        before = agency.status
        agency.reapply()
        agency.applied_at = clock.now()
        agency.status_reason = ""
        agency.save()
        record_decision(agency, action="reapply", before=before, actor=actor, reason=note.strip())
    return agency


def qualification_add(
    *, actor: User, data: dict[str, Any], stream: IO[bytes] | None = None, file_name: str = ""
) -> Qualification:
    """Add a qualification certificate, optionally with its scan. One already expired is refused:
    it could never count."""
    agency_id = own_agency(actor).pk
    valid_until: date = data["valid_until"]
    valid_from: date | None = data.get("valid_from")
    today = clock.now().astimezone(LOCAL).date()
    if valid_until < today:
        raise _invalid(
            "valid_until",
            f"This qualification expired on {valid_until.isoformat()}.",
            f"该资质已于 {valid_until.isoformat()} 过期。",
            code="qualification_expired",
        )
    if valid_from is not None and valid_from > valid_until:
        raise _invalid("valid_from", "Valid-from is after valid-until.", "有效期起始日晚于截止日。")
    if data["category"] not in Category.values:
        raise _invalid("category", "Unknown category.", "未知服务类别。")
    for field in ("kind", "number", "issuer"):
        if not str(data.get(field, "")).strip():
            raise _invalid(field, f"'{field}' is required.", "请填写完整资质信息。")

    def write(spool: storage.Spooled | None) -> Qualification:
        created = False
        try:
            with transaction.atomic():
                agency = lock_agency(agency_id)
                if agency.status == AdmissionStatus.REMOVED:
                    raise ApplicationError(
                        "invalid_state",
                        "A removed agency cannot add qualifications.",
                        "已清退机构不能添加资质。",
                        status=409,
                    )
                q = Qualification(
                    agency=agency,
                    category=data["category"],
                    kind=data["kind"].strip(),
                    grade=str(data.get("grade", "")).strip(),
                    number=data["number"].strip(),
                    issuer=data["issuer"].strip(),
                    valid_from=valid_from,
                    valid_until=valid_until,
                    added_at=clock.now(),
                )
                if spool is not None:
                    created = storage.place(spool, QUALIFICATION_PREFIX)
                    q.file_sha256, q.file_size = spool.sha256, spool.size
                    q.file_name = os.path.basename(file_name.strip())[:200] or "scan"
                    q.file.name = default_storage.generate_filename(
                        storage.relative_name(QUALIFICATION_PREFIX, spool.sha256)
                    )
                q.save()
                audit_record(
                    actor=actor,
                    action="agency.qualification_add",
                    obj=q,
                    after={
                        "agency": agency.organisation.uscc,
                        "category": q.category,
                        "kind": q.kind,
                        "grade": q.grade,
                        "number": q.number,
                        "valid_until": q.valid_until,
                        "file_sha256": q.file_sha256,
                    },
                )
                return q
        except BaseException:
            if created and spool is not None:
                storage.discard(QUALIFICATION_PREFIX, spool.sha256)
            raise

    if stream is None:
        return write(None)
    with storage.spooled(stream, settings.AGORA_QUALIFICATION_MAX_BYTES) as spool:
        return write(spool)


def qualification_withdraw(*, actor: User, qualification_id: int) -> Qualification:
    """The agency withdraws a qualification (revoked by its issuer, replaced…): it stops counting
    now and stays on record."""
    agency_id = own_agency(actor).pk
    with transaction.atomic():
        lock_agency(agency_id)
        q = Qualification.objects.filter(pk=qualification_id, agency_id=agency_id).first()
        if q is None:
            raise NotFound("No such qualification.", "资质不存在。")
        if q.withdrawn_at is not None:
            raise ApplicationError("already_withdrawn", "Already withdrawn.", "该资质已撤回。", status=409)
        q.withdrawn_at = clock.now()
        q.save(update_fields=["withdrawn_at"])
        audit_record(actor=actor, action="agency.qualification_withdraw", obj=q, after={"withdrawn_at": q.withdrawn_at})
    return q
