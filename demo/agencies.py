"""The agencies' part of the demo world (``manage.py demo_load``): who each demo agency is, the
qualification certificates it holds, and the demo private keys.

The demo plays the clients' part too: an agency's client makes its signing key and certificate
signing request locally, and so does an opening-key holder's. The keys are written to a demo key
directory (``AGORA_DEMO_KEY_DIR``, default ``<BASE_DIR>/var/demo-keys/``), one PKCS#8 PEM file per
username, readable by its owner only, so the command-line client can sign and decrypt as the demo
users. Only the CSRs reach the services; the keys never go into the database. The loader reads
them back (:func:`demo_key`) as those clients would: to sign and seal the demo bids and to decrypt
the holders' key shares at the openings.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from accounts.models import User
from agencies import pki
from agencies.models import Certificate
from agencies.services.certificates import certificate_request, key_holder_register
from market.choices import Category

KEY_DIR_VARIABLE = "AGORA_DEMO_KEY_DIR"

C = Category


@dataclass(frozen=True)
class QualificationSpec:
    category: str
    kind: str
    grade: str
    number: str
    issuer: str
    issued_days_ago: int
    valid_days: int  # from today to valid_until

    def data(self, today: date) -> dict[str, Any]:
        """The form ``registration.qualification_add`` takes, dated from ``today``."""
        return {
            "category": self.category,
            "kind": self.kind,
            "grade": self.grade,
            "number": self.number,
            "issuer": self.issuer,
            "valid_from": today - timedelta(days=self.issued_days_ago),
            "valid_until": today + timedelta(days=self.valid_days),
        }


@dataclass(frozen=True)
class AgencyProfile:
    legal_representative: str
    categories: tuple[str, ...]
    address: str
    introduction: str
    qualifications: tuple[QualificationSpec, ...]


HOUSING = "江西省住房和城乡建设厅"
MOHURD = "中华人民共和国住房和城乡建设部"
NATURAL_RESOURCES = "江西省自然资源厅"
EIA_REGISTER = "生态环境部环境影响评价信用平台"
EIA_KIND = "建设项目环境影响报告书（表）编制单位登记"
CONSULTING_ASSOCIATION = "江西省工程咨询协会"

Q = QualificationSpec

# By username (the agencies of demo_load.ORGANISATIONS). Numbers are fictional but shaped like the
# real ones; validity runs about one to three years ahead, except agency7's municipal-works
# supervision qualification, which runs out in a few days (its building-works one carries it on).
# A bid is refused unless the agency holds a qualification for the tender's category, so every
# agency holds one for each category the demo story has it bid in (demo_load: the bidders).
AUDIT_POOL = "政府投资审计社会中介机构备选库入库证明"
AUDIT_OFFICE = "江州市审计局"
PROCUREMENT_AGENT = "政府采购代理机构名录登记"
FINANCE = "江西省财政厅"
APPRAISAL_KIND = "资产评估机构备案"
PROFILES: dict[str, AgencyProfile] = {
    "agency1": AgencyProfile(
        "张国栋",
        (C.COST_CONSULTING, C.AUDIT, C.TENDERING_AGENCY, C.SUPERVISION, C.ASSET_APPRAISAL),
        "江州市濂溪区十里大道88号正衡大厦6层",
        "专业从事工程造价咨询、全过程造价管控及竣工结算审核，现有一级注册造价工程师23名。",
        (
            Q(C.COST_CONSULTING, "工程造价咨询企业资质", "甲级", "甲360401001256", HOUSING, 900, 560),
            Q(
                C.ENGINEERING_CONSULTING,
                "工程咨询单位资信证书",
                "乙级",
                "乙082036010023",
                CONSULTING_ASSOCIATION,
                300,
                795,
            ),
            Q(C.AUDIT, AUDIT_POOL, "", "江审库〔2025〕08号", AUDIT_OFFICE, 320, 410),
            Q(C.TENDERING_AGENCY, PROCUREMENT_AGENT, "", "赣采代登〔2024〕0137号", FINANCE, 500, 600),
            Q(C.SUPERVISION, "工程监理资质证书（房屋建筑工程）", "乙级", "E236040311", HOUSING, 650, 700),
            Q(C.ASSET_APPRAISAL, APPRAISAL_KIND, "", "赣财资备〔2024〕09号", FINANCE, 420, 500),
        ),
    ),
    "agency2": AgencyProfile(
        "黄丽萍",
        (C.COST_CONSULTING, C.TENDERING_AGENCY, C.AUDIT, C.ASSET_APPRAISAL),
        "江州市浔阳区庐山北路216号明鉴大厦12层",
        "提供投资估算、招标控制价编制、施工阶段造价控制及结算审核服务。",
        (
            Q(C.COST_CONSULTING, "工程造价咨询企业资质", "乙级", "乙360402000874", HOUSING, 700, 410),
            Q(C.AUDIT, AUDIT_POOL, "", "江审库〔2025〕11号", AUDIT_OFFICE, 320, 410),
            Q(C.TENDERING_AGENCY, PROCUREMENT_AGENT, "", "赣采代登〔2023〕0402号", FINANCE, 800, 300),
            Q(C.ASSET_APPRAISAL, APPRAISAL_KIND, "", "赣财资备〔2023〕27号", FINANCE, 760, 350),
        ),
    ),
    "agency3": AgencyProfile(
        "吴俊",
        (C.ENVIRONMENTAL_ASSESSMENT, C.DESIGN, C.ENGINEERING_CONSULTING),
        "江州市柴桑区沙河经济开发区环保产业园3号楼",
        "从事建设项目环境影响评价、环境监测方案编制及水污染防治工程设计，拥有环境影响评价工程师11名。",
        (
            Q(C.ENVIRONMENTAL_ASSESSMENT, EIA_KIND, "", "HP360404001276", EIA_REGISTER, 1100, 1000),
            Q(C.DESIGN, "工程设计资质证书（环境工程专项·水污染防治工程）", "乙级", "A236040312", HOUSING, 500, 900),
            Q(
                C.ENGINEERING_CONSULTING,
                "工程咨询单位资信证书（生态建设和环境工程）",
                "乙级",
                "乙082036040419",
                CONSULTING_ASSOCIATION,
                450,
                820,
            ),
        ),
    ),
    "agency4": AgencyProfile(
        "徐静",
        (C.ENVIRONMENTAL_ASSESSMENT, C.ENGINEERING_CONSULTING),
        "江州市瑞昌市湓城街道赤乌大道19号",
        "环境影响评价、环保验收及生态环境工程咨询。",
        (
            Q(C.ENVIRONMENTAL_ASSESSMENT, EIA_KIND, "", "HP360481003561", EIA_REGISTER, 400, 700),
            Q(
                C.ENGINEERING_CONSULTING,
                "工程咨询单位资信证书（生态建设和环境工程）",
                "乙级",
                "乙082036048105",
                CONSULTING_ASSOCIATION,
                200,
                900,
            ),
        ),
    ),
    "agency5": AgencyProfile(
        "孙立新",
        (C.SURVEYING, C.DESIGN),
        "江州市濂溪区长虹大道1566号地信产业园B座",
        "工程测量、地形图测绘、不动产测绘及地理信息系统建设。",
        (
            Q(
                C.SURVEYING,
                "测绘资质证书（工程测量、不动产测绘）",
                "乙级",
                "乙测资字36503021",
                NATURAL_RESOURCES,
                600,
                1000,
            ),
            Q(C.DESIGN, "工程设计资质证书（市政行业·道路工程）", "丙级", "A336040327", HOUSING, 380, 720),
        ),
    ),
    "agency6": AgencyProfile(
        "胡明",
        (C.SURVEYING,),
        "江州市共青城市茶山街道青年大道55号",
        "地形测绘、控制测量、工程测量及管线探测。",
        (
            Q(
                C.SURVEYING,
                "测绘资质证书（工程测量、地形图测绘）",
                "乙级",
                "乙测资字36503077",
                NATURAL_RESOURCES,
                300,
                1050,
            ),
        ),
    ),
    "agency7": AgencyProfile(
        "朱红梅",
        (C.SUPERVISION, C.DESIGN, C.COST_CONSULTING, C.ENGINEERING_CONSULTING),
        "江州市浔阳区九龙街168号建安大厦9层",
        "房屋建筑及市政公用工程施工监理、项目管理，现有注册监理工程师46名。",
        (
            Q(C.SUPERVISION, "工程监理资质证书（房屋建筑工程）", "甲级", "E136040217", MOHURD, 1000, 730),
            Q(C.SUPERVISION, "工程监理资质证书（市政公用工程）", "乙级", "E236040356", HOUSING, 1820, 5),
            Q(C.DESIGN, "工程设计资质证书（建筑行业·建筑工程）", "丙级", "A336040215", HOUSING, 700, 640),
            Q(C.COST_CONSULTING, "工程造价咨询企业资质", "乙级", "乙360402001377", HOUSING, 500, 380),
            Q(
                C.ENGINEERING_CONSULTING,
                "工程咨询单位资信证书（建筑）",
                "乙级",
                "乙082036040233",
                CONSULTING_ASSOCIATION,
                260,
                860,
            ),
        ),
    ),
    "agency8": AgencyProfile(
        "郭伟",
        (C.DESIGN, C.ENGINEERING_CONSULTING, C.SURVEYING, C.SUPERVISION),
        "江州市濂溪区前进东路377号",
        "建筑工程方案及施工图设计、城乡规划编制，现有一级注册建筑师14名。",
        (
            Q(C.DESIGN, "工程设计资质证书（建筑行业·建筑工程）", "甲级", "A136040108", MOHURD, 800, 1000),
            Q(C.DESIGN, "城乡规划编制资质证书", "乙级", "自然资规乙字36040021", NATURAL_RESOURCES, 400, 620),
            Q(C.SURVEYING, "测绘资质证书（工程测量）", "乙级", "乙测资字36503115", NATURAL_RESOURCES, 540, 900),
            Q(C.SUPERVISION, "工程监理资质证书（房屋建筑工程）", "乙级", "E236040108", HOUSING, 900, 450),
            Q(
                C.ENGINEERING_CONSULTING,
                "工程咨询单位资信证书（建筑、市政公用工程）",
                "乙级",
                "乙082036040127",
                CONSULTING_ASSOCIATION,
                350,
                760,
            ),
        ),
    ),
    "agency9": AgencyProfile(
        "何淑芬",
        (C.AUDIT, C.ASSET_APPRAISAL),
        "江州市濂溪区十里大道210号诚信会计大楼",
        "财务收支审计、工程结算审计、预算执行审计及资产清查。",
        (
            Q(C.AUDIT, "会计师事务所执业证书", "", "36040012", FINANCE, 1500, 1095),
            Q(C.ASSET_APPRAISAL, APPRAISAL_KIND, "", "赣财资备〔2022〕31号", FINANCE, 1200, 800),
        ),
    ),
    "agency10": AgencyProfile(
        "高建华",
        (C.ASSET_APPRAISAL,),
        "江州市浔阳区湓浦路55号恒信大厦5层",
        "资产评估、房地产估价及资产处置咨询。",
        (Q(C.ASSET_APPRAISAL, APPRAISAL_KIND, "", "赣财资备〔2023〕15号", FINANCE, 700, 400),),
    ),
    "agency11": AgencyProfile(
        "罗斌",
        (C.LEGAL,),
        "南昌市红谷滩区丰和中大道1099号（江州分所：江州市浔阳区浔阳东路12号）",
        "政府法律顾问、合同审查、行政诉讼及非诉讼代理。",
        (Q(C.LEGAL, "律师事务所执业许可证", "", "13601201510234567", "江西省司法厅", 2000, 450),),
    ),
    "agency12": AgencyProfile(
        "梁晓东",
        (
            C.ENGINEERING_CONSULTING,
            C.COST_CONSULTING,
            C.TENDERING_AGENCY,
            C.SUPERVISION,
            C.ENVIRONMENTAL_ASSESSMENT,
            C.DESIGN,
            C.SURVEYING,
            C.ASSET_APPRAISAL,
        ),
        "江州市柴桑区柴桑大道66号中诚大厦",
        "工程咨询、项目建议书及可行性研究报告编制、造价咨询及招标代理。",
        (
            Q(
                C.ENGINEERING_CONSULTING,
                "工程咨询单位资信证书（建筑、市政公用工程）",
                "甲级",
                "甲012036040071",
                "中国工程咨询协会",
                600,
                900,
            ),
            Q(C.COST_CONSULTING, "工程造价咨询企业资质", "乙级", "乙360404001129", HOUSING, 365, 730),
            Q(C.TENDERING_AGENCY, PROCUREMENT_AGENT, "", "赣采代登〔2022〕0219号", FINANCE, 1100, 500),
            Q(C.SUPERVISION, "工程监理资质证书（市政公用工程）", "甲级", "E136040455", MOHURD, 1000, 820),
            Q(C.ENVIRONMENTAL_ASSESSMENT, EIA_KIND, "", "HP360404002238", EIA_REGISTER, 800, 900),
            Q(C.DESIGN, "工程设计资质证书（市政行业）", "乙级", "A236040466", HOUSING, 600, 880),
            Q(C.SURVEYING, "测绘资质证书（工程测量）", "丙级", "丙测资字36503208", NATURAL_RESOURCES, 300, 960),
            Q(C.ASSET_APPRAISAL, APPRAISAL_KIND, "", "赣财资备〔2024〕18号", FINANCE, 400, 700),
        ),
    ),
}


# --- the demo key files ------------------------------------------------------------------------


class DemoKeyError(Exception):
    """A key file the demo cannot use (unreadable, or a key type the purpose does not allow)."""


def key_directory() -> Path:
    """Where the demo keys live: ``AGORA_DEMO_KEY_DIR``, or ``<BASE_DIR>/var/demo-keys``."""
    configured = os.environ.get(KEY_DIR_VARIABLE, "").strip()
    return Path(configured) if configured else Path(settings.BASE_DIR) / "var" / "demo-keys"


def key_path(directory: Path, username: str) -> Path:
    return directory / f"{username}.key.pem"


def _generate(kind: str) -> pki.PrivateKey:
    return Ed25519PrivateKey.generate() if kind == pki.KEY_ED25519 else ec.generate_private_key(ec.SECP256R1())


def demo_private_key(directory: Path, username: str, kind: str) -> tuple[pki.PrivateKey, bool]:
    """The user's demo private key and whether it was made now.

    A new key is written with ``O_CREAT | O_EXCL`` and mode 0600; a file left by an earlier run is
    reused (never overwritten), so a client that already holds it keeps working. ``kind`` is
    ``pki.KEY_ED25519`` (an agency's signing key) or ``pki.KEY_P256`` (an opening-key holder's).
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = key_path(directory, username)
    key = _generate(kind)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _existing_key(path, kind), False
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
    except BaseException:
        path.unlink(missing_ok=True)  # never leave half a key for the next run to trip over
        raise
    return key, True


def _existing_key(path: Path, kind: str) -> pki.PrivateKey:
    try:
        existing = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        # Say which file; never what is in it.
        raise DemoKeyError(f"{path} exists but is not an unencrypted PEM private key; move it away") from exc
    found = pki.KEY_ED25519 if isinstance(existing, Ed25519PrivateKey) else None
    if isinstance(existing, ec.EllipticCurvePrivateKey) and isinstance(existing.curve, ec.SECP256R1):
        found = pki.KEY_P256
    # A signing key may be either type the platform accepts; a key holder's must do ECDH (P-256).
    if found is None or (kind == pki.KEY_P256 and found != pki.KEY_P256):
        raise DemoKeyError(f"{path} holds a key of the wrong type for this user; move it away")
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)  # an older run or a copy left it readable by others
    assert isinstance(existing, Ed25519PrivateKey | ec.EllipticCurvePrivateKey)
    return existing


def demo_key(directory: Path, username: str, kind: str) -> pki.PrivateKey:
    """The user's demo private key, read from its file as the user's client would read it (never
    made here): ``pki.KEY_ED25519`` for an agency's signing key, ``pki.KEY_P256`` for an
    opening-key holder's. A missing or unusable file is a :class:`DemoKeyError` naming the file."""
    path = key_path(directory, username)
    if not path.is_file():
        raise DemoKeyError(f"{path} is missing; the demo made it earlier in this load, so something removed it")
    return _existing_key(path, kind)


def agency_certificate(directory: Path, user: User) -> tuple[Certificate, bool]:
    """The agency's client: make (or reuse) its Ed25519 key and ask for a signing certificate."""
    org = user.organisation
    assert org is not None
    key, created = demo_private_key(directory, user.get_username(), pki.KEY_ED25519)
    csr = pki.csr_make(key, pki.Subject(organisation_name=org.name, uscc=org.uscc))
    return certificate_request(actor=user, csr=csr), created


def key_holder_certificate(directory: Path, user: User) -> tuple[Certificate, bool]:
    """An opening-key holder's client: make (or reuse) its P-256 key and register it."""
    org = user.organisation
    assert org is not None
    key, created = demo_private_key(directory, user.get_username(), pki.KEY_P256)
    csr = pki.csr_make(key, pki.Subject(organisation_name=org.name, uscc=org.uscc, username=user.get_username()))
    return key_holder_register(actor=user, csr=csr), created
