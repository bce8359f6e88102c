from django.db import models


class Method(models.TextChoices):
    OPEN_TENDER = "open_tender", "公开招标 Open tender"
    LOWEST_PRICE = "lowest_price", "竞价选取-最低价 Lowest price"
    OPTIMAL_PRICE = "optimal_price", "竞价选取-优价 Optimal price"
    LOTTERY = "lottery", "随机选取 Lottery"
    DIRECT = "direct", "直接选取 Direct selection"


# Methods of the intermediary supermarket (中介超市): shorter notice periods apply.
SUPERMARKET_METHODS = frozenset({Method.LOWEST_PRICE, Method.OPTIMAL_PRICE, Method.LOTTERY, Method.DIRECT})
# Methods that choose a winner (or a price base) by lot; a jurisdiction may forbid them.
LOTTERY_METHODS = frozenset({Method.LOTTERY, Method.OPTIMAL_PRICE})


class Category(models.TextChoices):
    COST_CONSULTING = "cost_consulting", "造价咨询 Cost consulting"
    ENVIRONMENTAL_ASSESSMENT = "environmental_assessment", "环境影响评价 Environmental assessment"
    SURVEYING = "surveying", "测绘 Surveying and mapping"
    SUPERVISION = "supervision", "工程监理 Construction supervision"
    DESIGN = "design", "工程设计 Design"
    AUDIT = "audit", "审计 Audit"
    ENGINEERING_CONSULTING = "engineering_consulting", "工程咨询 Engineering consulting"
    ASSET_APPRAISAL = "asset_appraisal", "资产评估 Asset appraisal"
    LEGAL = "legal", "法律服务 Legal services"
    TENDERING_AGENCY = "tendering_agency", "招标代理 Tendering agency"
    CONSTRUCTION = "construction", "工程施工 Construction works"
    GOODS = "goods", "货物 Goods"


class OpeningPolicy(models.TextChoices):
    """How a tender's bids are locked until the opening (docs/crypto.md, "Who can read a bid, and when").

    ``threshold``: sealed to the tender's opening key alone, which any ``t`` of the key holders rebuild.
    ``threshold_and_bidder``: sealed twice, also under a key only the bidding agency holds and releases during the
    decryption window (投标人解密); a bid whose agency does not release it counts as withdrawn."""

    THRESHOLD = "threshold", "开标密钥门限解密 Opening key (holders' threshold)"
    THRESHOLD_AND_BIDDER = "threshold_and_bidder", "门限解密+投标人解密 Opening key and the bidder's own key"


class TenderStatus(models.TextChoices):
    DRAFT = "draft", "草稿 Draft"
    PENDING_REVIEW = "pending_review", "待审核 Pending review"
    PUBLISHED = "published", "公告中 Published"
    OPENING = "opening", "开标中 Opening"
    EVALUATING = "evaluating", "评标中 Evaluating"
    PUBLICITY = "publicity", "公示中 Publicity"
    AWARDED = "awarded", "已中标 Awarded"
    CONTRACTED = "contracted", "已签合同 Contracted"
    COMPLETED = "completed", "已完成 Completed"
    SUSPENDED = "suspended", "暂停 Suspended"
    FAILED = "failed", "流标/废标 Failed"
    CANCELLED = "cancelled", "终止 Cancelled"


FINAL_STATUSES = frozenset({TenderStatus.FAILED, TenderStatus.CANCELLED, TenderStatus.COMPLETED})
SUSPENDABLE_STATUSES = (TenderStatus.PUBLISHED, TenderStatus.OPENING, TenderStatus.EVALUATING, TenderStatus.PUBLICITY)


class NoticeKind(models.TextChoices):
    TENDER = "tender", "招标公告 Tender notice"
    AMENDMENT = "amendment", "变更/澄清公告 Amendment"
    SUSPENSION = "suspension", "暂停公告 Suspension"
    RESUMPTION = "resumption", "恢复公告 Resumption"
    OPENING_RECORD = "opening_record", "开标记录 Opening record"
    CANDIDATES = "candidates", "中标候选人公示 Candidate publicity"
    AWARD = "award", "中标结果公告 Award"
    FAILURE = "failure", "流标/废标公告 Failure"
    CANCELLATION = "cancellation", "终止公告 Termination"


class ObjectionKind(models.TextChoices):
    DOCUMENTS = "documents", "对招标文件的异议 Objection to the documents"
    RESULT = "result", "对评标结果的异议 Objection to the result"
    OPENING = "opening", "对开标的异议 Objection at the opening"


class ObjectionStatus(models.TextChoices):
    PENDING = "pending", "待答复 Pending"
    ANSWERED = "answered", "已答复 Answered"
