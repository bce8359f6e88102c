"""``manage.py demo_load``: a small, realistic demo world for the fictional city of 江州市.

It creates the trading centre, a supervisory department, three purchasers and twelve agencies,
one user for each, and twenty tenders spread over every state of the lifecycle. The tenders are
moved only through the services (``market.services``) and the clock (``market.clock``), exactly
as the platform would move them, so every notice and audit entry is the real one. The past part
of the story is played on a frozen platform clock starting two hours ago; the clock is then put
back to real time and the tenders still open for bids are published with deadlines 15-50 minutes
ahead, so a running ``manage.py clock`` moves them on live.

Idempotent: if the demo trading centre exists, the command says so and changes nothing. Meant for
an empty database (the backdated story would otherwise interleave with real audit entries).
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from agencies.uscc import uscc_check_char
from bidding.models import Bid
from core import clock
from core.errors import ApplicationError
from market.choices import Category, Method, ObjectionKind, OrganisationKind, TenderStatus
from market.clock import run_due_transitions
from market.models import ROLE_OF_KIND, Organisation, RuleProfile, Tender, User
from market.services.objections import objection_answer, objection_raise
from market.services.tenders import (
    tender_amend,
    tender_approve,
    tender_cancel,
    tender_complete,
    tender_create,
    tender_fail_evaluation,
    tender_record_contract,
    tender_record_result,
    tender_return,
    tender_submit,
    tender_suspend,
)

PROFILE = "demo"
DEFAULT_PASSWORD = "agora-demo-2026"  # noqa: S105 - a published demo password, printed by the command
CITY = "360400"  # 江州市 is fictional; its codes sit under Jiangxi (36), where 江州 was an old name of 九江.
CENTRE_NAME = "江州市公共资源交易中心"

K = OrganisationKind


@dataclass(frozen=True)
class OrgSpec:
    username: str
    kind: str
    name: str
    uscc_prefix: str  # registration authority + organisation category (positions 1-2 of the USCC)
    region: str
    contact: str  # surname first, one character
    phone: str


ORGANISATIONS = [
    # 12 = 机构编制 / 事业单位, 11 = 机构编制 / 机关, 91 = 市场监管 / 企业, 31 = 司法行政 / 律师事务所.
    OrgSpec("operator", K.TRADING_CENTRE, CENTRE_NAME, "12", CITY, "林晓梅", "0792-8226101"),
    OrgSpec("supervisor", K.SUPERVISORY_DEPARTMENT, "江州市发展和改革委员会", "11", CITY, "周建国", "0792-8223315"),
    OrgSpec("purchaser1", K.PURCHASER, "江州市第一中学", "12", "360403", "陈文华", "0792-8581206"),
    OrgSpec("purchaser2", K.PURCHASER, "江州市人民医院", "12", "360402", "刘海燕", "0792-8576120"),
    OrgSpec("purchaser3", K.PURCHASER, "江州市交通运输局", "11", CITY, "王志强", "0792-8237742"),
    OrgSpec("agency1", K.AGENCY, "江州正衡工程造价咨询有限公司", "91", "360403", "张国栋", "13907921001"),
    OrgSpec("agency2", K.AGENCY, "江州明鉴工程造价咨询有限公司", "91", "360402", "黄丽萍", "13907921002"),
    OrgSpec("agency3", K.AGENCY, "江州绿源环境科技有限公司", "91", "360404", "吴俊", "13907921003"),
    OrgSpec("agency4", K.AGENCY, "江州清泽环保工程咨询有限公司", "91", "360481", "徐静", "13907921004"),
    OrgSpec("agency5", K.AGENCY, "江州天成测绘地理信息有限公司", "91", "360403", "孙立新", "13907921005"),
    OrgSpec("agency6", K.AGENCY, "江州经纬测绘技术有限公司", "91", "360483", "胡明", "13907921006"),
    OrgSpec("agency7", K.AGENCY, "江州建安工程监理有限公司", "91", "360402", "朱红梅", "13907921007"),
    OrgSpec("agency8", K.AGENCY, "江州华构建筑设计研究院有限公司", "91", CITY, "郭伟", "13907921008"),
    OrgSpec("agency9", K.AGENCY, "江州诚信会计师事务所（普通合伙）", "91", "360403", "何淑芬", "13907921009"),
    OrgSpec("agency10", K.AGENCY, "江州恒信资产评估有限公司", "91", "360402", "高建华", "13907921010"),
    OrgSpec("agency11", K.AGENCY, "江西浔阳律师事务所", "31", "360000", "罗斌", "13907921011"),
    OrgSpec("agency12", K.AGENCY, "江州中诚工程咨询有限公司", "91", "360404", "梁晓东", "13907921012"),
]


@dataclass(frozen=True)
class TenderSpec:
    purchaser: str  # username of the purchaser's user
    title: str
    method: str
    category: str
    budget: str
    bond: str
    description: str
    qualification: str = ""
    direct_reason: str = ""


M, C = Method, Category
QUAL_AGENCY = "已入驻江州市网上中介服务超市，具有独立法人资格，近三年无重大违法记录，未被列入失信被执行人名单。"

# The twenty tenders, by key. The comment gives the state each one ends in.
TENDERS: dict[str, TenderSpec] = {
    # completed
    "T01": TenderSpec(
        "purchaser1",
        "江州市第一中学教学楼改造工程造价咨询服务",
        M.OPEN_TENDER,
        C.COST_CONSULTING,
        "480000",
        "9000",
        "服务内容：工程量清单及招标控制价编制、施工阶段造价控制、竣工结算审核。"
        "服务期限：自合同签订之日起至竣工结算审定止。",
        QUAL_AGENCY + "拟派项目负责人须为一级注册造价工程师。",
    ),
    "T02": TenderSpec(
        "purchaser3",
        "江州市S305省道改线工程地形测绘服务",
        M.LOWEST_PRICE,
        C.SURVEYING,
        "260000",
        "5000",
        "服务内容：1:500 带状地形图测绘约 12 平方公里、控制测量及成果整理。服务期限：45 日历天。",
        QUAL_AGENCY + "具有乙级及以上测绘资质（工程测量、地形图测绘专业）。",
    ),
    # contracted (T04 late, after the contract period)
    "T03": TenderSpec(
        "purchaser3",
        "江州港城西港区码头扩建项目环境影响评价服务",
        M.OPTIMAL_PRICE,
        C.ENVIRONMENTAL_ASSESSMENT,
        "350000",
        "7000",
        "服务内容：编制环境影响报告书并配合完成技术评估及审批。服务期限：90 日历天。",
        QUAL_AGENCY,
    ),
    "T04": TenderSpec(
        "purchaser2",
        "江州市人民医院2025年度财务收支审计服务",
        M.DIRECT,
        C.AUDIT,
        "180000",
        "0",
        "服务内容：2025 年度财务收支及预算执行情况审计，出具审计报告及管理建议书。",
        QUAL_AGENCY,
        direct_reason="上级主管部门通知限期完成专项审计，时间紧迫；预算低于直接选取限额，经院长办公会研究决定直接选取。",
    ),
    # awarded (T06 after an objection to the result was answered)
    "T05": TenderSpec(
        "purchaser1",
        "江州市第一中学新校区学生宿舍楼建设工程监理服务",
        M.OPEN_TENDER,
        C.SUPERVISION,
        "1250000",
        "20000",
        "服务内容：施工阶段及保修阶段全过程监理。建筑面积约 2.6 万平方米。服务期限：24 个月。",
        QUAL_AGENCY + "具有房屋建筑工程监理甲级资质；总监理工程师须为注册监理工程师。",
    ),
    "T06": TenderSpec(
        "purchaser2",
        "江州市人民医院闲置医疗设备资产处置评估服务",
        M.LOTTERY,
        C.ASSET_APPRAISAL,
        "150000",
        "0",
        "服务内容：对拟处置的 136 台（套）闲置医疗设备进行市场价值评估并出具评估报告。",
        QUAL_AGENCY,
    ),
    # publicity
    "T07": TenderSpec(
        "purchaser3",
        "江州市城区公交站台改造工程设计服务",
        M.LOWEST_PRICE,
        C.DESIGN,
        "220000",
        "4000",
        "服务内容：中心城区 86 座公交候车亭改造方案设计及施工图设计。服务期限：60 日历天。",
        QUAL_AGENCY,
    ),
    # evaluating
    "T08": TenderSpec(
        "purchaser2",
        "江州市人民医院门诊综合楼装修工程全过程造价咨询服务",
        M.OPTIMAL_PRICE,
        C.COST_CONSULTING,
        "560000",
        "10000",
        "服务内容：招标控制价编制、施工过程造价管控、变更签证审核及竣工结算审核。",
        QUAL_AGENCY,
    ),
    # opening
    "T09": TenderSpec(
        "purchaser3",
        "江州市农村公路提质改造工程可行性研究报告编制服务",
        M.OPEN_TENDER,
        C.ENGINEERING_CONSULTING,
        "380000",
        "7000",
        "服务内容：编制可行性研究报告（含投资估算）并配合完成评审。涉及农村公路约 210 公里。",
        QUAL_AGENCY,
    ),
    # failed: too few bids (流标), then no valid bid (废标)
    "T10": TenderSpec(
        "purchaser2",
        "江州市人民医院常年法律顾问服务",
        M.LOWEST_PRICE,
        C.LEGAL,
        "120000",
        "0",
        "服务内容：合同审查、法律咨询、诉讼及非诉讼事务代理。服务期限：一年。",
        "依法设立的律师事务所，拟派律师执业满五年。",
    ),
    "T11": TenderSpec(
        "purchaser1",
        "江州市第一中学体育馆建设工程设计服务",
        M.OPEN_TENDER,
        C.DESIGN,
        "900000",
        "18000",
        "服务内容：方案设计、初步设计、施工图设计及施工配合。建筑面积约 8600 平方米。",
        QUAL_AGENCY + "具有建筑行业（建筑工程）设计乙级及以上资质。",
    ),
    # cancelled
    "T12": TenderSpec(
        "purchaser2",
        "江州市人民医院医疗设备采购项目招标代理服务",
        M.LOWEST_PRICE,
        C.TENDERING_AGENCY,
        "200000",
        "0",
        "服务内容：医疗设备采购项目招标文件编制、组织开评标及合同签订协助。",
        QUAL_AGENCY,
    ),
    # draft
    "T13": TenderSpec(
        "purchaser3",
        "江州市交通运输局公务用车处置评估服务",
        M.OPTIMAL_PRICE,
        C.ASSET_APPRAISAL,
        "50000",
        "0",
        "服务内容：对 23 辆拟处置公务用车进行价值评估。",
        QUAL_AGENCY,
    ),
    # suspended: an objection to the documents (T14), a complaint to the supervisor (T15)
    "T14": TenderSpec(
        "purchaser3",
        "江州市中心城区排水防涝设施建设项目初步设计及概算编制服务",
        M.OPEN_TENDER,
        C.ENGINEERING_CONSULTING,
        "680000",
        "13000",
        "服务内容：排水防涝设施初步设计、设计概算编制及专家评审配合。",
        QUAL_AGENCY + "近三年在江州市行政区域内具有同类项目业绩。",
    ),
    "T15": TenderSpec(
        "purchaser1",
        "江州市第一中学食堂设备采购项目招标代理服务",
        M.LOWEST_PRICE,
        C.TENDERING_AGENCY,
        "90000",
        "0",
        "服务内容：食堂厨房设备采购项目招标代理全过程服务。",
        QUAL_AGENCY,
    ),
    # published, open for bids
    "T16": TenderSpec(
        "purchaser1",
        "江州市第一中学校园不动产权籍调查测绘服务",
        M.OPEN_TENDER,
        C.SURVEYING,
        "160000",
        "3000",
        "服务内容：校园范围内土地及房屋权籍调查、不动产测绘及成果汇交。",
        QUAL_AGENCY,
    ),
    "T17": TenderSpec(
        "purchaser3",
        "江州市长江大道综合改造工程结算审计服务",
        M.LOWEST_PRICE,
        C.AUDIT,
        "300000",
        "6000",
        "服务内容：对长江大道综合改造工程竣工结算进行审计并出具审计报告。",
        QUAL_AGENCY,
    ),
    "T18": TenderSpec(
        "purchaser2",
        "江州市人民医院医疗废水处理站改造项目环境影响报告表编制服务",
        M.DIRECT,
        C.ENVIRONMENTAL_ASSESSMENT,
        "80000",
        "0",
        "服务内容：编制环境影响报告表并配合完成审批。",
        QUAL_AGENCY,
        direct_reason="改造项目须在生态环境部门规定期限内完成环评报批，时间紧迫；预算低于直接选取限额。",
    ),
    # pending review
    "T19": TenderSpec(
        "purchaser3",
        "江州市滨江大道二期工程施工监理服务",
        M.OPEN_TENDER,
        C.SUPERVISION,
        "1800000",
        "30000",
        "服务内容：滨江大道二期道路、桥梁及排水工程施工阶段监理。服务期限：30 个月。",
        QUAL_AGENCY + "具有市政公用工程监理甲级资质。",
    ),
    # draft, returned by the trading centre
    "T20": TenderSpec(
        "purchaser1",
        "江州市第一中学实验楼维修工程预算编制服务",
        M.LOTTERY,
        C.COST_CONSULTING,
        "40000",
        "0",
        "服务内容：实验楼屋面及外墙维修工程预算编制。",
        QUAL_AGENCY,
    ),
}

# The state each tender must be in when the load finishes (checked before committing).
EXPECTED: dict[str, str] = {
    "T01": TenderStatus.COMPLETED,
    "T02": TenderStatus.COMPLETED,
    "T03": TenderStatus.CONTRACTED,
    "T04": TenderStatus.CONTRACTED,
    "T05": TenderStatus.AWARDED,
    "T06": TenderStatus.AWARDED,
    "T07": TenderStatus.PUBLICITY,
    "T08": TenderStatus.EVALUATING,
    "T09": TenderStatus.OPENING,
    "T10": TenderStatus.FAILED,
    "T11": TenderStatus.FAILED,
    "T12": TenderStatus.CANCELLED,
    "T13": TenderStatus.DRAFT,
    "T14": TenderStatus.SUSPENDED,
    "T15": TenderStatus.SUSPENDED,
    "T16": TenderStatus.PUBLISHED,
    "T17": TenderStatus.PUBLISHED,
    "T18": TenderStatus.PUBLISHED,
    "T19": TenderStatus.PENDING_REVIEW,
    "T20": TenderStatus.DRAFT,
}


def _org_code(name: str) -> str:
    """A deterministic 9-character organisation code (GB 11714: 8 digits and their check digit)."""
    body = f"{int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10**8:08d}"
    remainder = 11 - sum(int(d) * w for d, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
    return body + {10: "X", 11: "0"}.get(remainder, str(remainder))


def demo_uscc(spec: OrgSpec) -> str:
    first17 = spec.uscc_prefix + spec.region + _org_code(spec.name)
    return first17 + uscc_check_char(first17)


def _minute(dt: datetime) -> datetime:
    return dt.replace(second=0, microsecond=0)


class Loader:
    """Plays the demo story. ``T0`` is two hours before the real start, rounded to the minute."""

    def __init__(self, password_hash: str) -> None:
        self.password_hash = password_hash
        self.orgs: dict[str, Organisation] = {}
        self.users: dict[str, User] = {}
        self.tenders: dict[str, int] = {}
        self.start = clock.now()
        self.t0 = _minute(self.start) - timedelta(hours=2)
        self.last = self.t0

    # --- helpers ------------------------------------------------------------------------------
    def at(self, minutes: float) -> None:
        """Move the frozen clock to ``T0 + minutes`` (never backwards) and run what is due."""
        when = self.t0 + timedelta(minutes=minutes)
        assert when >= self.last, "the demo story only moves forward in time"
        self.last = when
        clock.freeze(when)
        run_due_transitions()

    def user(self, username: str) -> User:
        return self.users[username]

    def create(self, key: str, deadline: datetime) -> int:
        spec = TENDERS[key]
        data: dict[str, Any] = {
            "title": spec.title,
            "description": spec.description,
            "method": spec.method,
            "category": spec.category,
            "region": self.orgs[spec.purchaser].region,
            "budget": Decimal(spec.budget),
            "bond_amount": Decimal(spec.bond),
            "bid_deadline": deadline,
            "qualification_requirements": spec.qualification,
            "direct_reason": spec.direct_reason,
        }
        tender = tender_create(actor=self.user(spec.purchaser), data=data, profile_name=PROFILE)
        self.tenders[key] = tender.pk
        return int(tender.pk)

    def publish(self, key: str, deadline: datetime) -> int:
        """Create, submit and approve: the tender notice goes out now."""
        tender_id = self.create(key, deadline)
        tender_submit(actor=self.user(TENDERS[key].purchaser), tender_id=tender_id)
        tender_approve(actor=self.user("operator"), tender_id=tender_id)
        return tender_id

    def bid(self, key: str, agencies: list[int]) -> None:
        """PLACEHOLDER bid registrations until the bidding issue lands: bare ``Bid`` rows, received
        now (before the deadline), with the digest of deterministic bytes standing in for the sealed
        ciphertext. No encryption, signature or receipt is involved yet."""
        tender = Tender.objects.get(pk=self.tenders[key])
        assert clock.now() < tender.bid_deadline
        for number in agencies:
            agency = self.orgs[f"agency{number}"]
            digest = hashlib.sha256(f"agora-demo-bid|{tender.reference}|{agency.uscc}".encode()).hexdigest()
            Bid.objects.create(tender=tender, agency=agency, received_at=clock.now(), ciphertext_digest=digest)

    def result(self, key: str, ranking: list[int], summary: str) -> None:
        """The operator records the committee's ranking (agency numbers, best first)."""
        tender_id = self.tenders[key]
        by_agency = {bid.agency_id: bid.pk for bid in Bid.objects.filter(tender_id=tender_id)}
        bid_ids = [by_agency[self.orgs[f"agency{n}"].pk] for n in ranking]
        tender_record_result(actor=self.user("operator"), tender_id=tender_id, summary=summary, ranking=bid_ids)

    def contract(self, key: str, reference: str) -> None:
        tender_record_contract(
            actor=self.user(TENDERS[key].purchaser), tender_id=self.tenders[key], contract_reference=reference
        )

    def complete(self, key: str) -> None:
        tender_complete(actor=self.user(TENDERS[key].purchaser), tender_id=self.tenders[key])

    # --- the world ----------------------------------------------------------------------------
    def organisations_and_users(self) -> None:
        for spec in ORGANISATIONS:
            org = Organisation(
                kind=spec.kind,
                name=spec.name,
                uscc=demo_uscc(spec),
                region=spec.region,
                contact_name=spec.contact,
                contact_phone=spec.phone,
            )
            org.full_clean()
            org.save()
            self.orgs[spec.username] = org
            staff = spec.username == "operator"
            user = User(
                username=spec.username,
                organisation=org,
                role=ROLE_OF_KIND[spec.kind],
                last_name=spec.contact[0],
                first_name=spec.contact[1:],
                email=f"{spec.username}@demo.agora.invalid",
                is_staff=staff,
                is_superuser=staff,
                password=self.password_hash,
            )
            user.full_clean()
            user.save()
            self.users[spec.username] = user

    def past(self) -> None:
        """The story so far, on the frozen clock from T0 to the real start (all times in minutes)."""
        t0 = self.t0

        def deadline(minutes: int) -> datetime:
            return t0 + timedelta(minutes=minutes)

        self.at(0)
        for key, minutes in [
            ("T01", 10),
            ("T02", 8),
            ("T03", 8),
            ("T04", 5),
            ("T05", 30),
            ("T06", 30),
            ("T10", 20),
            ("T11", 40),
            ("T12", 60),
            ("T14", 150),
            ("T15", 50),
            ("T08", 100),
            ("T07", 110),
            ("T09", 120),
        ]:
            self.publish(key, deadline(minutes))

        self.at(1)
        for key, agencies in [
            ("T01", [1, 2, 12]),
            ("T02", [5, 6, 8]),
            ("T03", [3, 4, 12]),
            ("T04", [9]),
            ("T05", [7, 12, 1, 8]),
            ("T06", [10, 9, 12, 2, 1]),
            ("T10", [11]),
            ("T11", [8, 12, 7]),
            ("T12", [12, 1]),
            ("T14", [12, 8]),
            ("T15", [12, 1, 2]),
            ("T08", [1, 2, 12, 7]),
            ("T07", [8, 12, 5]),
            ("T09", [12, 8, 7, 3]),
        ]:
            self.bid(key, agencies)

        self.at(2)
        tender_amend(
            actor=self.user("purchaser1"),
            tender_id=self.tenders["T01"],
            title="江州市第一中学教学楼改造工程造价咨询服务 变更公告",
            body="一、补充招标控制价编制范围：含室外配套工程。\n二、投标截止及开标时间相应顺延。",
            new_deadline=deadline(12),
        )

        self.at(5)  # T04 deadline: opening
        self.at(7)  # T04 evaluating
        self.result(
            "T04", [9], "经评审，江州诚信会计师事务所（普通合伙）响应文件符合要求，报价合理，确定为成交候选人。"
        )

        self.at(8)  # T02, T03 deadline
        self.at(10)  # T02, T03 evaluating; T04 publicity over: awarded, contract due at +20
        self.result("T02", [6, 5, 8], "经评审，按有效报价由低到高排序，推荐成交候选人如下。")
        self.result("T03", [3, 12, 4], "经评审委员会评审，以优价法计算评审基准价，推荐成交候选人如下。")

        self.at(12)  # T01 deadline (amended)
        self.at(13)  # T02, T03 awarded
        self.at(14)  # T01 evaluating
        self.result("T01", [1, 12, 2], "评标委员会按综合评估法评审，推荐中标候选人如下。")

        self.at(15)
        tender_cancel(
            actor=self.user("purchaser2"),
            tender_id=self.tenders["T12"],
            reason="采购项目资金未落实，经医院研究决定终止本次采购活动。",
        )
        self.contract("T02", "JZJT-2026-FW-017")

        self.at(17)  # T01 awarded
        self.at(18)
        self.contract("T01", "JZYZ-2026-ZX-003")
        self.contract("T03", "JZJT-2026-FW-021")

        self.at(20)  # T10 deadline with one bid: 流标
        objection_raise(
            actor=self.user("agency7"),
            tender_id=self.tenders["T14"],
            kind=ObjectionKind.DOCUMENTS,
            text="招标文件要求投标人近三年在江州市行政区域内具有同类项目业绩，属于以特定行政区域的业绩作为"
            "资格条件，违反《招标投标法实施条例》第三十二条的规定，请求修改招标文件。",
        )

        self.at(25)  # T04's contract after its due time: recorded as late
        self.contract("T04", "JZRMYY-2026-SJ-002")

        self.at(30)  # T05, T06 deadline
        self.at(32)  # evaluating
        self.result("T05", [7, 12, 8, 1], "评标委员会按综合评估法评审，推荐中标候选人如下。")
        self.result("T06", [10, 12, 9], "在交易中心见证下随机抽取，抽取结果如下。")

        self.at(33)
        objection = objection_raise(
            actor=self.user("agency9"),
            tender_id=self.tenders["T06"],
            kind=ObjectionKind.RESULT,
            text="随机抽取过程未通知我单位派员到场见证，请求公开抽取过程的录像资料。",
        )

        self.at(38)  # T05 awarded; T06's publicity resumes, moved later by the 5 minutes suspended
        objection_answer(
            actor=self.user("purchaser2"),
            objection_id=objection.pk,
            upheld=False,
            answer="经核查，随机抽取在交易中心见证区进行，全过程录音录像，录像资料可在交易中心查阅。异议不成立。",
        )

        self.at(40)  # T06 awarded; T11 deadline
        self.at(42)  # T11 evaluating
        tender_fail_evaluation(
            actor=self.user("operator"),
            tender_id=self.tenders["T11"],
            reason="经评标委员会评审，所有投标均未通过资格审查，本项目废标。",
        )

        self.at(45)
        self.complete("T01")
        self.complete("T02")

        self.at(50)  # T15 deadline
        self.at(52)  # evaluating
        self.result("T15", [1, 12, 2], "经评审，按有效报价由低到高排序，推荐成交候选人如下。")
        self.at(53)
        tender_suspend(
            actor=self.user("supervisor"),
            tender_id=self.tenders["T15"],
            reason="受理江州明鉴工程造价咨询有限公司投诉（第一成交候选人涉嫌提供虚假业绩），"
            "依据《招标投标法实施条例》第六十二条暂停采购活动",
        )

        self.at(100)  # T08 deadline
        self.at(102)  # T08 evaluating
        self.at(110)  # T07 deadline
        self.at(112)  # T07 evaluating

        # The real start: T09's deadline (the start rounded down to the minute) has just passed,
        # so it is opening for up to two more minutes; T07's publicity runs for three.
        clock.freeze(self.start)
        run_due_transitions()
        self.result("T07", [12, 8, 5], "经评审，按有效报价由低到高排序，推荐成交候选人如下。")

    def present(self) -> None:
        """On the real clock: tenders open for bids, under review, and drafts."""
        now = _minute(clock.now())
        self.publish("T17", now + timedelta(minutes=15))
        self.bid("T17", [9, 1, 2])
        self.publish("T18", now + timedelta(minutes=25))
        self.bid("T18", [3])
        self.publish("T16", now + timedelta(minutes=45))
        self.bid("T16", [5, 6, 8])
        tender_amend(
            actor=self.user("purchaser1"),
            tender_id=self.tenders["T16"],
            title="江州市第一中学校园不动产权籍调查测绘服务 澄清公告",
            body="对潜在投标人提出的问题澄清如下：测绘范围以附件红线图为准，不含校外教职工宿舍区。",
            new_deadline=now + timedelta(minutes=50),
        )

        tomorrow = now + timedelta(days=1)
        tender_submit(actor=self.user("purchaser3"), tender_id=self.create("T19", tomorrow))
        self.create("T13", tomorrow)
        t20 = self.create("T20", tomorrow)
        tender_submit(actor=self.user("purchaser1"), tender_id=t20)
        tender_return(
            actor=self.user("operator"), tender_id=t20, reason="预算金额与财政批复文件不一致，请核对后重新提交。"
        )

    def check(self) -> None:
        """Refuse to commit a world that is not the one described."""
        wrong = {}
        for key, expected in EXPECTED.items():
            status = Tender.objects.values_list("status", flat=True).get(pk=self.tenders[key])
            if status != expected:
                wrong[key] = f"{status} (expected {expected})"
        if wrong:
            raise CommandError(f"demo story went off script: {wrong}")


class Command(BaseCommand):
    help = "Load the demo data set (江州市: organisations, users, 20 tenders in every state). Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        if Organisation.objects.filter(name=CENTRE_NAME).exists():
            self.stdout.write(f"Demo data already loaded ({CENTRE_NAME} exists); nothing to do.")
            return
        taken = sorted(
            User.objects.filter(username__in=[s.username for s in ORGANISATIONS]).values_list("username", flat=True)
        )
        if taken:
            raise CommandError(
                f"Users {', '.join(taken)} already exist but the demo data is not loaded; "
                "demo_load needs an empty database."
            )
        if not RuleProfile.objects.filter(name=PROFILE).exists():
            raise CommandError(f"Rule profile '{PROFILE}' is missing; run `manage.py migrate` first.")

        password = os.environ.get("AGORA_DEMO_PASSWORD", DEFAULT_PASSWORD)
        # One hash for every demo user: they share the password anyway, and hashing 17 times
        # would take most of the command's run time.
        loader = Loader(make_password(password))
        try:
            with transaction.atomic():
                loader.organisations_and_users()
                try:
                    loader.past()
                finally:
                    clock.reset()
                loader.present()
                loader.check()
        except ApplicationError as exc:
            raise CommandError(f"a service refused a demo step: {exc.code}: {exc.detail}") from exc
        finally:
            clock.reset()
        self.report(loader, password)

    def report(self, loader: Loader, password: str) -> None:
        counts = Counter(Tender.objects.filter(pk__in=loader.tenders.values()).values_list("status", flat=True))
        out = self.stdout.write
        out(
            self.style.SUCCESS(
                f"Demo data loaded: {len(loader.orgs)} organisations, {len(loader.users)} users, "
                f"{len(loader.tenders)} tenders, "
                f"{Bid.objects.filter(tender_id__in=loader.tenders.values()).count()} bids."
            )
        )
        out("Tenders by state: " + ", ".join(f"{s.value} {counts[s.value]}" for s in TenderStatus if counts[s.value]))
        out("Open tenders move on live while `manage.py clock` runs (deadlines in 15-50 minutes).")
        out("")
        out(f"Users (password for all: {password}):")
        for spec in ORGANISATIONS:
            note = "  [Django admin]" if spec.username == "operator" else ""
            out(f"  {spec.username:<12} {ROLE_OF_KIND[spec.kind]:<10} {spec.name}{note}")
        out("")
        out(
            self.style.WARNING(
                "This is DEMO data: fictional organisations and a shared, published password. "
                "Never load it on a production platform."
            )
        )
