"""Identity at the bottom of the stack: organisations and the people who log in for them.

Every other app names a user or an organisation through this one, so none of them depends on
another domain app just for that."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models

from accounts.choices import OrganisationKind
from accounts.validators import validate_region_code
from core.permissions import Role

# The role a user may hold in each kind of organisation.
ROLE_OF_KIND: dict[str, str] = {
    OrganisationKind.PURCHASER: Role.PURCHASER,
    OrganisationKind.AGENCY: Role.AGENCY,
    OrganisationKind.SUPERVISORY_DEPARTMENT: Role.SUPERVISOR,
    OrganisationKind.TRADING_CENTRE: Role.OPERATOR,
}


class Organisation(models.Model):
    kind = models.CharField(max_length=32, choices=OrganisationKind.choices)
    name = models.CharField(max_length=200, unique=True)
    uscc = models.CharField("统一社会信用代码 USCC", max_length=18, unique=True)
    region = models.CharField(max_length=6, validators=[validate_region_code])
    contact_name = models.CharField(max_length=60, blank=True)
    contact_phone = models.CharField(max_length=30, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who logs in. Belongs to exactly one organisation and holds the role of its kind.

    Operators of the Django admin are trading-centre users with ``is_staff``.
    """

    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    role = models.CharField(max_length=16, choices=Role.choices, blank=True)

    def clean(self) -> None:
        super().clean()
        if self.organisation_id is None:
            if self.role:
                raise ValidationError({"role": "A user with a role belongs to an organisation."})
            return
        kind = Organisation.objects.values_list("kind", flat=True).get(pk=self.organisation_id)
        expected = ROLE_OF_KIND[kind]
        if self.role != expected:
            raise ValidationError({"role": f"Users of a {kind} organisation have role {expected}."})
