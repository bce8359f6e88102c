from django.db import models


class AdmissionStatus(models.TextChoices):
    APPLIED = "applied", "待审核 Applied"
    ADMITTED = "admitted", "已入驻 Admitted"
    RETURNED = "returned", "已退回 Returned"
    SUSPENDED = "suspended", "已暂停 Suspended"
    REMOVED = "removed", "已清退 Removed"


class CertificatePurpose(models.TextChoices):
    SIGNING = "signing", "投标签名 Bid signing"
    KEY_HOLDER = "key_holder", "开标密钥持有人 Opening-key holder"


class RevocationReason(models.TextChoices):
    # RFC 5280 reason codes the platform uses.
    UNSPECIFIED = "unspecified", "未说明 Unspecified"
    KEY_COMPROMISE = "key_compromise", "私钥泄露 Key compromise"
    AFFILIATION_CHANGED = "affiliation_changed", "信息变更 Affiliation changed"
    SUPERSEDED = "superseded", "已替换 Superseded"
    CESSATION_OF_OPERATION = "cessation_of_operation", "停止使用 Cessation of operation"


class CreditList(models.TextChoices):
    RED = "red", "红名单 Red list"
    BLACK = "black", "黑名单 Black list"


class ListEntryStatus(models.TextChoices):
    PROPOSED = "proposed", "待认定 Proposed"
    DISMISSED = "dismissed", "不予认定 Dismissed"
    DECIDED = "decided", "已认定 Decided"
    IN_FORCE = "in_force", "有效 In force"
    EXPIRED = "expired", "已到期 Expired"
    REVOKED = "revoked", "已移出(信用修复) Revoked"


# Entries a supervisor decided: public, in the history, and in force between their dates unless
# revoked. A proposal (or one dismissed) is neither public nor ever in force.
DECIDED_LIST_STATUSES = (
    ListEntryStatus.DECIDED,
    ListEntryStatus.IN_FORCE,
    ListEntryStatus.EXPIRED,
    ListEntryStatus.REVOKED,
)


class RestrictedAction(models.TextChoices):
    """What a black-list entry can take away (失信惩戒措施)."""

    REGISTER = "register", "入驻/注册 Register"
    BID = "bid", "投标/报名 Bid"
    BE_DRAWN = "be_drawn", "被抽取 Be drawn by lot"


class Incentive(models.TextChoices):
    """What a red-list entry can grant (守信激励措施); the effects are local policy."""

    BOND_WAIVER = "bond_waiver", "免交保证金 Bond waiver"
    BADGE = "badge", "守信标识 Badge"
    SCORING_BONUS = "scoring_bonus", "综合评分加分 Scoring bonus"


class EvaluationStatus(models.TextChoices):
    PENDING = "pending", "待审核 Pending moderation"
    APPROVED = "approved", "已采用 Approved"
    REJECTED = "rejected", "不予采用 Rejected"


# The five dimensions of a service evaluation (服务评价), in the order the form shows them.
EVALUATION_DIMENSIONS = (
    ("quality", "服务质量 Quality"),
    ("timeliness", "服务时效 Timeliness"),
    ("attitude", "服务态度 Attitude"),
    ("fees", "服务收费 Fees"),
    ("conduct", "服务规范 Conduct"),
)
