"""Setting a trading centre up from an empty database: the centre itself, the supervisory
departments and purchasers it serves, and the people who log in for them.

Run by the server's administrator through management commands (``centre_init``, ``org_add``,
``user_add``), so the audit entries name the command (``system:<command>``) rather than a user.
Agencies are not made here: they register themselves and are admitted by an operator
(``agencies.services.registration``, ``agencies.services.admission``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.choices import OrganisationKind
from accounts.models import ROLE_OF_KIND, Organisation, User
from accounts.uscc import uscc_is_valid
from accounts.validators import validate_region_code
from core.audit import audit_record
from core.errors import ApplicationError
from core.permissions import Role

# Made by migration procurement/0001_operators_group: what an operator may do in the admin.
OPERATORS_GROUP = "operators"

# Kinds this module makes; agencies register themselves.
KINDS_MADE_HERE = (OrganisationKind.PURCHASER, OrganisationKind.SUPERVISORY_DEPARTMENT)


@dataclass(frozen=True)
class OrganisationInput:
    name: str
    uscc: str
    region: str
    contact_name: str = ""
    contact_phone: str = ""


def uscc_checked(uscc: str) -> str:
    """The code, upper-cased, or a 400 saying it fails GB 32100-2015's check. Every organisation's
    code passes here: the centre's, a purchaser's, a department's, an agency's at registration."""
    code = (uscc or "").strip().upper()
    if not uscc_is_valid(code):
        detail = "This is not a valid unified social credit code (wrong length, character or check character)."
        raise ApplicationError(
            "invalid_uscc", detail, "统一社会信用代码无效（长度、字符或校验码错误）。", fields={"uscc": [detail]}
        )
    return code


def _organisation_fields(data: OrganisationInput) -> dict[str, str]:
    name, uscc, region = data.name.strip(), uscc_checked(data.uscc), data.region.strip()
    problems: dict[str, list[str]] = {}
    if not name:
        problems["name"] = ["required"]
    try:
        validate_region_code(region)
    except ValidationError:
        problems["region"] = ["a six-digit administrative division code (GB/T 2260)"]
    if problems:
        raise ApplicationError(
            "invalid",
            "The organisation's details are not valid: " + "; ".join(f"{k}: {v[0]}" for k, v in problems.items()),
            "机构信息无效：" + "；".join(problems),
            fields=problems,
        )
    return {
        "name": name,
        "uscc": uscc,
        "region": region,
        "contact_name": data.contact_name.strip(),
        "contact_phone": data.contact_phone.strip(),
    }


def _refuse_taken(fields: dict[str, str]) -> None:
    for key, label_en, label_zh in (("name", "name", "名称"), ("uscc", "USCC", "统一社会信用代码")):
        clash = Organisation.objects.filter(**{key: fields[key]}).first()
        if clash is not None:
            raise ApplicationError(
                "duplicate",
                f"The {label_en} '{fields[key]}' already belongs to '{clash.name}' ({clash.kind}).",
                f"{label_zh}“{fields[key]}”已属于“{clash.name}”。",
                fields={key: ["taken"]},
                status=409,
            )


def centre_init(*, data: OrganisationInput, label: str = "system:centre_init") -> tuple[Organisation, bool]:
    """Create the platform's one trading centre. Run again with the same name and code, it changes
    nothing and returns ``created=False``; a different centre is refused (there is only one)."""
    fields = _organisation_fields(data)
    with transaction.atomic():
        existing = Organisation.objects.select_for_update().filter(kind=OrganisationKind.TRADING_CENTRE).first()
        if existing is not None:
            if (existing.name, existing.uscc) == (fields["name"], fields["uscc"]):
                return existing, False
            raise ApplicationError(
                "centre_exists",
                f"This platform's trading centre is already '{existing.name}' ({existing.uscc}); there is only one.",
                f"本平台已设交易中心“{existing.name}”，只能有一个。",
                status=409,
            )
        _refuse_taken(fields)
        centre = Organisation.objects.create(kind=OrganisationKind.TRADING_CENTRE, **fields)
        audit_record(actor=None, system_label=label, action="organisation.create", obj=centre, after=fields)
    return centre, True


def organisation_add(*, kind: str, data: OrganisationInput, label: str = "system:org_add") -> Organisation:
    """A purchaser or a supervisory department the centre serves."""
    if kind not in KINDS_MADE_HERE:
        raise ApplicationError(
            "invalid_kind",
            f"Organisations of kind '{kind}' are not made here: the trading centre with centre_init, "
            "agencies by registering themselves. Use purchaser or supervisory_department.",
            "此处只能添加采购人或行政监督部门：交易中心用 centre_init 设立，中介机构自行注册。",
            fields={"kind": list(KINDS_MADE_HERE)},
        )
    fields = _organisation_fields(data)
    with transaction.atomic():
        if not Organisation.objects.filter(kind=OrganisationKind.TRADING_CENTRE).exists():
            raise ApplicationError(
                "no_centre",
                "Create the trading centre first (manage.py centre_init).",
                "请先设立交易中心（manage.py centre_init）。",
                status=409,
            )
        _refuse_taken(fields)
        org = Organisation.objects.create(kind=kind, **fields)
        audit_record(actor=None, system_label=label, action="organisation.create", obj=org, after=fields)
    return org


def organisation_find(key: str) -> Organisation:
    """An organisation by its USCC or its exact name."""
    key = key.strip()
    org = Organisation.objects.filter(uscc=key.upper()).first() or Organisation.objects.filter(name=key).first()
    if org is None:
        raise ApplicationError(
            "not_found",
            f"No organisation with the code or name '{key}'.",
            f"找不到代码或名称为“{key}”的机构。",
            status=404,
        )
    return org


def user_add(
    *,
    organisation: Organisation,
    username: str,
    password: str,
    full_name: str = "",
    email: str = "",
    label: str = "system:user_add",
) -> User:
    """A person who logs in for ``organisation``, with the role of its kind. A trading-centre user
    is an operator: staff in the admin, in the operators group (never a superuser)."""
    if organisation.kind == OrganisationKind.AGENCY:
        raise ApplicationError(
            "invalid_kind",
            "An agency's users come with its registration; they are not added here.",
            "中介机构的用户随其注册产生，不在此添加。",
        )
    username = username.strip()
    problems: dict[str, list[str]] = {}
    if not username:
        problems["username"] = ["required"]
    elif User.objects.filter(username=username).exists():
        problems["username"] = ["taken"]
    role = ROLE_OF_KIND[organisation.kind]
    candidate = User(username=username, email=email.strip(), organisation=organisation, role=role)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        problems["password"] = list(exc.messages)
    if problems:
        raise ApplicationError(
            "invalid",
            "The user cannot be added: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in problems.items()),
            "无法添加用户：" + "；".join(problems),
            fields=problems,
            status=409 if problems.get("username") == ["taken"] and len(problems) == 1 else 400,
        )
    first, _, last = full_name.strip().partition(" ")
    with transaction.atomic():
        user = User.objects.create_user(
            username=username,
            password=password,
            email=candidate.email,
            first_name=first,
            last_name=last,
            organisation=organisation,
            role=role,
            is_staff=role == Role.OPERATOR,
        )
        if role == Role.OPERATOR:
            user.groups.add(Group.objects.get(name=OPERATORS_GROUP))
        audit_record(
            actor=None,
            system_label=label,
            action="user.create",
            obj=user,
            after={"username": username, "organisation": organisation.pk, "role": role, "is_staff": user.is_staff},
        )
    return user
