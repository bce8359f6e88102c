"""Search benchmark (issue point 7): N realistic Chinese tenders, the embedded backend's latency per query type
(in process and through HTTP) beside the naive ``icontains`` listing, measured in the same run.

    .venv/bin/python bench/search.py                                   # 100,000 tenders, 200 runs per type
    .venv/bin/python bench/search.py --tenders 2000 --repeat 20        # a quick look
    .venv/bin/python bench/search.py --keep                            # keep the database …
    .venv/bin/python bench/search.py --reuse DIR --only two --explain  # … and time on it again, no build

Options: ``--tenders N``, ``--repeat R`` (backend runs and HTTP GETs per type), ``--baseline-repeat B``, ``--seed``,
``--http/--no-http``, ``--only TYPE`` (two, four, faceted, filtered, browse, page2, deep; repeatable),
``--timeout S`` (one search running longer is interrupted and its type reported as over S), ``--total-cap N``
(``AGORA_SEARCH_TOTAL_CAP`` for the run: how many matches a listing counts), ``--analyze``,
``--index SQL`` (an extra index to try, created in the throwaway database), ``--explain`` (the statements of the
slowest query string of each type, with their times and query plans), ``--keep``, ``--reuse DIR``, ``--debug``,
``--database-url URL``.

What is measured:

- **backend**: ``DatabaseBackend().search(Query(...))`` in process, the page exactly as the API builds it (hits,
  highlights, capped total, facets, next cursor). ``--repeat`` runs per query type, rotating through several query
  strings; p50 and p99 (nearest rank) in milliseconds.
- **baseline**: the naive listing with the ORM on the same queryset: ``icontains`` on title, description and
  purchaser name (every word of the query), the same filters, the same order, the page by ``OFFSET``, an exact
  ``.count()`` and one ``.values().annotate(Count)`` per facet. ``--baseline-repeat`` runs per type, interleaved with
  the backend's runs (same query strings), so both see the same machine.
- **HTTP**: real GETs of ``/api/search/tenders/`` with urllib against the WSGI application served by
  ``wsgiref.simple_server`` in a thread of this process (127.0.0.1, a free port, TCP_NODELAY as real servers set it;
  one request at a time; Django's per-request connection handling as configured).
- **SQL check**: every statement one search of each type executes, in process and through HTTP, is recorded:
  an ``OFFSET``, or a ``COUNT(`` that is not over a ``LIMIT``-ed subquery, is printed as an offence.
- **agreement**: for every query string, the backend's first page (ids), total and facets are compared with the
  baseline's (where the backend's total is exact).

Query types: a two-character query (common and rare words, one with no match), a four-character query, a faceted
page (query + status + category filters), a filtered page with no text, the bare listing (no query, no filter, by
newest and by deadline), the second page of a two-character query by its cursor, and the 51st page by cursor (the
baseline uses ``OFFSET``). Facets are on in every type, as the API's default.

The tenders are made deterministically from ``--seed`` (titles like 江州市第一中学教学楼改造工程造价咨询服务, 1–3
sentence descriptions, 50 purchasers, methods, categories, regions, budgets, public statuses consistent with the
dates, published over two years) and inserted with ``bulk_create`` (no signals); the search index is then filled
with ``DatabaseBackend().rebuild``.

Everything lives in a temporary directory (SQLite database) removed at the end unless ``--keep``. ``DATABASE_URL``
from the environment is ignored so that a developer's database is never touched; ``--database-url`` runs against
PostgreSQL instead, and must name an empty, throwaway database.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import platform
import random
import re
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchenv import django_setup, result_write  # noqa: E402 - bench/ is the script's own directory

# The platform's "now" for the generated data (a Monday morning in Jiangzhou, as in the tests).
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
GOAL_MS = 50.0
PAGE = 20
DEEP_PAGE = 51


def configure(tmp: Path, *, database_url: str | None, debug: bool, total_cap: int | None) -> None:
    """Django on a throwaway database (bench/benchenv.py) with the embedded search backend, migrated."""
    os.environ.pop("ELASTICSEARCH_URL", None)
    environment = {"AGORA_SEARCH_BACKEND": "database", "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}
    if total_cap is not None:
        environment["AGORA_SEARCH_TOTAL_CAP"] = str(total_cap)
    django_setup(tmp, database_url=database_url, debug=debug, environment=environment)

    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- the corpus ---------------------------------------------------------------------------------------------------

CITY = "江州市"
# Region code -> district (GB/T 2260 codes of a Jiangxi prefecture; the city itself is fictional).
DISTRICTS = {
    "360102": "东湖区",
    "360103": "西湖区",
    "360104": "青云谱区",
    "360111": "青山湖区",
    "360112": "新建区",
    "360121": "南昌县",
    "360123": "安义县",
    "360124": "进贤县",
}
CITY_REGION = "360100"

# Purchaser department -> the kind of project it buys services for.
CITY_DEPARTMENTS = {
    "教育局": "school",
    "卫生健康委员会": "hospital",
    "人民医院": "hospital",
    "中医院": "hospital",
    "妇幼保健院": "hospital",
    "城市管理局": "road",
    "住房和城乡建设局": "public",
    "交通运输局": "road",
    "水利局": "water",
    "生态环境局": "water",
    "自然资源局": "public",
    "财政局": "public",
    "审计局": "public",
    "文化广电旅游局": "public",
    "体育局": "public",
    "民政局": "public",
    "公安局": "public",
    "消防救援支队": "public",
    "农业农村局": "water",
    "城市建设投资集团有限公司": "road",
    "水务集团有限公司": "water",
    "公路事业发展中心": "road",
    "机关事务管理局": "public",
    "第一中学": "school",
    "职业技术学院": "school",
    "图书馆": "public",
}
DISTRICT_DEPARTMENTS = {"教育体育局": "school", "住房和城乡建设局": "public", "人民政府": "road"}

OBJECTS = {
    "school": ["第一中学教学楼", "第二中学综合楼", "实验小学校舍", "第三小学食堂", "职业技术学院实训楼", "中心幼儿园"],
    "hospital": [
        "人民医院门诊楼",
        "中医院住院楼",
        "妇幼保健院",
        "疾病预防控制中心实验楼",
        "乡镇卫生院",
        "人民医院感染楼",
    ],
    "road": ["市政道路", "城市主干道", "滨江大道", "乡村道路", "高速公路连接线", "人行天桥", "公交站场", "跨河桥梁"],
    "water": ["污水处理厂", "自来水厂", "排涝泵站", "河道综合治理", "供水管网", "雨污分流管网", "农田水利设施"],
    "public": [
        "体育中心",
        "图书馆新馆",
        "文化馆",
        "行政服务中心",
        "老旧小区",
        "农贸市场",
        "保障性住房",
        "养老服务中心",
        "消防站",
        "产业园标准厂房",
        "城市公园",
    ],
}
WORKS = [
    "改造工程",
    "新建工程",
    "扩建工程",
    "维修工程",
    "提升改造项目",
    "建设项目",
    "综合整治工程",
    "修缮工程",
    "配套工程",
    "绿化工程",
]
# Category -> (weight, services named in the title, what the description says the service is).
SERVICES: dict[str, tuple[int, list[str], list[str]]] = {
    "cost_consulting": (
        20,
        ["造价咨询服务", "全过程造价咨询服务", "工程量清单及招标控制价编制", "结算审核服务"],
        ["服务内容包括工程量清单及招标控制价编制、施工阶段造价控制和竣工结算审核。", "提供全过程造价咨询。"],
    ),
    "supervision": (
        14,
        ["工程监理", "施工监理服务", "监理服务"],
        ["服务内容为施工阶段全过程监理，包括质量、进度、投资控制及安全生产管理。", "负责施工期间的旁站监理与验收。"],
    ),
    "design": (
        10,
        ["设计", "施工图设计", "方案设计", "勘察设计"],
        ["服务内容包括方案设计、初步设计和施工图设计及施工配合。", "完成岩土工程勘察及施工图设计。"],
    ),
    "environmental_assessment": (
        6,
        ["环境影响评价", "环境影响报告书编制", "环评服务", "水土保持方案编制"],
        ["编制建设项目环境影响报告表并协助取得批复。", "开展环境现状监测并编制报告。"],
    ),
    "surveying": (
        6,
        ["测绘服务", "地形测量", "不动产测绘", "竣工测量"],
        ["完成项目范围内1:500地形图测绘及地下管线探测。", "开展控制测量和竣工测量并提交成果。"],
    ),
    "audit": (
        8,
        ["审计", "竣工决算审计", "跟踪审计服务"],
        ["对项目竣工决算进行审计并出具审计报告。", "对建设全过程实施跟踪审计。"],
    ),
    "engineering_consulting": (
        6,
        ["可行性研究报告编制", "项目建议书编制", "工程咨询服务"],
        ["编制项目可行性研究报告并配合评审。", "提供项目前期工程咨询。"],
    ),
    "asset_appraisal": (2, ["资产评估", "房地产评估服务"], ["对涉及的资产进行评估并出具评估报告。"]),
    "legal": (2, ["法律顾问服务"], ["为项目实施提供全过程法律顾问服务。"]),
    "tendering_agency": (
        6,
        ["招标代理服务"],
        ["负责招标文件编制、发布公告、组织开标评标等招标代理工作。"],
    ),
    "construction": (15, ["施工", "施工总承包", ""], ["主要建设内容包括土建、安装、装饰及室外配套工程。"]),
    "goods": (5, ["教学设备采购", "医疗设备采购", "办公家具采购", "信息化设备采购"], ["含运输、安装及调试。"]),
}
METHODS = {"open_tender": 35, "lowest_price": 25, "optimal_price": 10, "lottery": 20, "direct": 10}


@dataclass
class Purchaser:
    name: str
    region: str
    district: str
    group: str


def purchasers() -> list[Purchaser]:
    out = [Purchaser(f"{CITY}{dept}", CITY_REGION, "", group) for dept, group in CITY_DEPARTMENTS.items()]
    for code, district in DISTRICTS.items():
        for dept, group in DISTRICT_DEPARTMENTS.items():
            out.append(Purchaser(f"{CITY}{district}{dept}", code, district, group))
    return out


def _scale(rng: random.Random, group: str) -> str:
    if group == "road":
        return f"道路全长约{rng.uniform(0.5, 12):.1f}公里，红线宽度{rng.choice((16, 24, 32, 40))}米"
    if group == "water":
        return f"设计规模{rng.choice((2, 5, 8, 10, 20))}万吨/日"
    if group == "hospital":
        return f"总建筑面积约{rng.randrange(8000, 90000, 100)}平方米，设置床位{rng.randrange(100, 1200, 50)}张"
    return f"总建筑面积约{rng.randrange(1500, 60000, 100)}平方米"


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _status(rng: random.Random, deadline: datetime) -> str:
    """A public status consistent with how long ago the bid deadline passed."""
    days = (T0 - deadline).days
    if days < 0:
        return _weighted(rng, {"published": 95, "suspended": 3, "cancelled": 2})
    if days < 10:
        return _weighted(rng, {"opening": 20, "evaluating": 60, "failed": 10, "suspended": 10})
    if days < 30:
        return _weighted(rng, {"publicity": 50, "awarded": 35, "failed": 10, "cancelled": 5})
    if days < 90:
        return _weighted(rng, {"awarded": 30, "contracted": 55, "failed": 10, "cancelled": 5})
    return _weighted(rng, {"completed": 70, "contracted": 15, "failed": 10, "cancelled": 5})


def tender_fields(rng: random.Random, i: int, buyers: list[Purchaser]) -> dict[str, Any]:
    """One tender's fields (everything but the purchaser, user and profile objects)."""
    p_index = rng.randrange(len(buyers))
    buyer = buyers[p_index]
    category = _weighted(rng, {k: v[0] for k, v in SERVICES.items()})
    _, services, scopes = SERVICES[category]
    group = buyer.group if rng.random() < 0.8 else rng.choice(list(OBJECTS))
    district = buyer.district or (rng.choice(list(DISTRICTS.values())) if rng.random() < 0.6 else "")
    obj = rng.choice(OBJECTS[group])
    published = T0 - timedelta(days=rng.uniform(0, 730))
    published = published.replace(hour=rng.randrange(8, 18), minute=rng.randrange(60), second=rng.randrange(60))
    year = f"{published.year}年" if rng.random() < 0.3 else ""
    if category == "goods":
        title = f"{year}{buyer.name}{rng.choice(services)}项目"
    else:
        title = f"{year}{CITY}{district}{obj}{rng.choice(WORKS)}{rng.choice(services)}"
    if category in ("construction", "goods"):
        method = _weighted(rng, {"open_tender": 85, "lowest_price": 15})
        term = f"工期{rng.randrange(60, 540, 30)}日历天。"
    else:
        method = _weighted(rng, METHODS)
        term = f"服务期限{rng.randrange(30, 720, 30)}日历天，自合同签订之日起计算。"
    sentences = [rng.choice(scopes)]
    extra = [
        f"本项目位于{CITY}{district or '市区'}，{_scale(rng, group)}。",
        term,
        rng.choice(("项目资金来源为财政资金，已落实。", "资金来源为自筹资金。", "本项目不接受联合体投标。")),
    ]
    rng.shuffle(extra)
    sentences += extra[: rng.randrange(0, 3)]
    if category == "construction":
        budget = rng.lognormvariate(math.log(3_000_000), 0.9)
    elif category == "goods":
        budget = rng.lognormvariate(math.log(600_000), 0.7)
    else:
        budget = rng.lognormvariate(math.log(200_000), 0.8)
    open_tender = method == "open_tender"
    deadline = published + timedelta(days=rng.randrange(20, 46) if open_tender else rng.randrange(5, 15))
    region = buyer.region if buyer.region != CITY_REGION or not district else _region_of(district)
    return {
        "reference": f"ZB{published.year}{i:07d}",
        "title": title,
        "description": "".join(sentences),
        "purchaser_index": p_index,
        "method": method,
        "category": category,
        "region": region,
        "budget": Decimal(f"{max(budget, 5000):.2f}"),
        "bid_deadline": deadline,
        "min_bids": 3 if open_tender else 1,
        "status": _status(rng, deadline),
        "published_at": published,
        "submitted_at": published - timedelta(days=rng.randrange(1, 5)),
    }


def _region_of(district: str) -> str:
    return next(code for code, name in DISTRICTS.items() if name == district)


def _uscc(n: int) -> str:
    from accounts.uscc import uscc_check_char

    first17 = f"91360100{n:09d}"
    return first17 + uscc_check_char(first17)


def build(n: int, seed: int) -> dict[str, float]:
    """The tenders (bulk_create, no signals) and the search index (rebuild); seconds taken by each step."""
    from django.db import transaction

    from accounts.models import Organisation, User
    from market.models import RuleProfile, Tender
    from market.search_documents import TENDER
    from search.backends.database import DatabaseBackend

    rng = random.Random(seed)
    buyers = purchasers()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    with transaction.atomic():
        orgs, users = [], []
        for k, buyer in enumerate(buyers, 1):
            org = Organisation.objects.create(kind="purchaser", name=buyer.name, uscc=_uscc(k), region=buyer.region)
            users.append(
                User.objects.create_user(username=f"buyer-{k}", password="x", organisation=org, role="purchaser")
            )
            orgs.append(org)
        profile = RuleProfile.objects.get(name="national")
        batch: list[Tender] = []
        for i in range(1, n + 1):
            fields = tender_fields(rng, i, buyers)
            k = fields.pop("purchaser_index")
            batch.append(Tender(purchaser=orgs[k], created_by=users[k], profile=profile, **fields))
            if len(batch) >= 2000:
                Tender.objects.bulk_create(batch)
                batch = []
        Tender.objects.bulk_create(batch)
    timings["tenders"] = time.perf_counter() - started

    started = time.perf_counter()
    indexed = DatabaseBackend().rebuild(
        "tender", ((t.pk, TENDER.document(t)) for t in TENDER.queryset().iterator(chunk_size=2000))
    )
    timings["index"] = time.perf_counter() - started
    timings["indexed"] = indexed
    return timings


# --- query types --------------------------------------------------------------------------------------------------

TWO = ["造价", "道路", "监理", "医院", "中学", "审计", "环评", "泵站", "隧道"]
FOUR = ["造价咨询", "市政道路", "环境影响", "污水处理", "人民医院", "施工监理", "竣工决算", "雨污分流"]
FACETED = [
    ("道路", {"status": ["published"], "category": ["supervision", "design"]}),
    ("造价咨询", {"status": ["published", "evaluating"], "category": ["cost_consulting"]}),
    ("医院", {"status": ["completed"], "category": ["construction", "goods"]}),
    ("污水处理", {"status": ["published", "awarded", "contracted"], "category": ["environmental_assessment"]}),
    ("中学", {"status": ["contracted"], "category": ["audit", "cost_consulting"]}),
]
FILTERED = [
    {"status": ["published"], "category": ["cost_consulting"]},
    {"status": ["completed", "contracted"], "category": ["supervision"]},
    {"status": ["published", "opening", "evaluating"], "category": ["design", "surveying"], "region": ["360102"]},
    {"category": ["legal"]},
    {"status": ["failed"]},
]
PAGED = ["造价", "道路", "监理", "医院", "中学", "审计"]


@dataclass
class Kind:
    key: str
    label: str
    queries: list[Any]  # search.backends.base.Query
    # Page number the cursor points at (for the baseline's OFFSET); 1 for a first page.
    page: int = 1
    matches: list[int] = field(default_factory=list)


def kinds() -> list[Kind]:
    from search.backends.base import Query

    return [
        Kind("two", "2-char query", [Query("tender", text=q) for q in TWO]),
        Kind("four", "4-char query", [Query("tender", text=q) for q in FOUR]),
        Kind("faceted", "q+status+category", [Query("tender", text=q, filters=f) for q, f in FACETED]),
        Kind("filtered", "filters, no text", [Query("tender", filters=f) for f in FILTERED]),
        # The bare listing (the home page): every public tender, newest first, beyond the total's cap.
        Kind("browse", "no q, no filters", [Query("tender"), Query("tender", sort="deadline")]),
        Kind("page2", "page 2 by cursor", [Query("tender", text=q) for q in PAGED], page=2),
        Kind("deep", f"page {DEEP_PAGE} by cursor", [Query("tender", text=q) for q in PAGED], page=DEEP_PAGE),
    ]


def attach_cursors(kind: Kind, watchdog: Watchdog) -> bool:
    """Follow the cursors to the kind's page (queries with too few matches are dropped); False if none reaches it."""
    from search.backends.database import DatabaseBackend

    backend, out = DatabaseBackend(), []
    for query in kind.queries:
        q = replace(query, facets=False, highlight=False)
        for _ in range(kind.page - 1):
            pages: list[Any] = []
            watchdog.run(
                f"following the cursors of {q.text!r}", lambda q=q, pages=pages: pages.append(backend.search(q))
            )
            cursor = pages[0].next_cursor
            if cursor is None:
                break
            q = replace(q, cursor=cursor)
        else:
            out.append(replace(q, facets=query.facets, highlight=query.highlight))
    kind.queries = out
    return bool(out)


def naive(query: Any, page: int) -> dict[str, Any]:
    """The baseline: icontains on the text columns, OFFSET pages, exact count, one GROUP BY per facet."""
    from django.db.models import Count, Q

    from market.search_documents import TENDER

    qs = TENDER.queryset()
    for word in query.text.split():
        qs = qs.filter(Q(title__icontains=word) | Q(description__icontains=word) | Q(purchaser__name__icontains=word))
    for name, values in query.filters.items():
        qs = qs.filter(**{f"{TENDER.field(name).path}__in": values})
    ordering = []
    for name in TENDER.sort_fields(query.sort):
        path = TENDER.field(name.lstrip("-")).path
        ordering.append(f"-{path}" if name.startswith("-") else path)
    qs = qs.order_by(*ordering, "-id")
    offset = (page - 1) * query.size
    hits = [(t.pk, TENDER.document(t)) for t in qs[offset : offset + query.size]]
    total = qs.count()
    facets = {}
    for name in TENDER.facets:
        path = TENDER.field(name).path
        rows = qs.order_by().values(path).annotate(n=Count("pk")).values_list(path, "n")
        facets[name] = {str(v): c for v, c in rows}
    return {"ids": [pk for pk, _ in hits], "total": total, "facets": facets}


# --- measuring ----------------------------------------------------------------------------------------------------


def percentile(samples: list[float], p: float) -> float:
    """Nearest rank: the smallest sample with at least p % of the samples at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return 1000 * (time.perf_counter() - started)


@dataclass
class Result:
    backend: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    http: list[float] = field(default_factory=list)
    sql_backend: list[str] = field(default_factory=list)
    sql_http: list[str] = field(default_factory=list)
    sql_baseline: list[str] = field(default_factory=list)
    agreement: list[str] = field(default_factory=list)
    # What ran over the time limit and was interrupted (that path is then no longer timed), if anything.
    backend_timeout: str = ""
    http_timeout: str = ""


class Recorder:
    """Records the SQL of every connection, in any thread, while active (an execute wrapper on each connection)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = False
        self.statements: list[tuple[str, float]] = []

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        if not self.active:
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = 1000 * (time.perf_counter() - started)
            cursor = context["cursor"]
            try:
                text = context["connection"].ops.last_executed_query(cursor, sql, params)
            except Exception:
                text = sql
            with self.lock:
                self.statements.append((text, elapsed))

    def install(self) -> None:
        from django.db import connections
        from django.db.backends.signals import connection_created

        def on_created(sender: Any, connection: Any, **kwargs: Any) -> None:
            if self not in connection.execute_wrappers:
                connection.execute_wrappers.append(self)

        connection_created.connect(on_created, weak=False, dispatch_uid="bench-search-recorder")
        for conn in connections.all():
            conn.ensure_connection()
            if self not in conn.execute_wrappers:
                conn.execute_wrappers.append(self)

    def record(self, fn: Callable[[], Any]) -> list[tuple[str, float]]:
        with self.lock:
            self.statements, self.active = [], True
        try:
            fn()
        finally:
            with self.lock:
                self.active = False
        return self.statements


class TimedOut(Exception):
    pass


class Watchdog:
    """Interrupts every database connection (any thread) when one call runs over ``seconds``, so that one
    pathological query plan cannot hold the benchmark for hours: the call then raises :class:`TimedOut`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.wrappers: list[Any] = []
        self.fired = False

    def install(self) -> None:
        from django.db import connections
        from django.db.backends.signals import connection_created

        def on_created(sender: Any, connection: Any, **kwargs: Any) -> None:
            if all(w is not connection for w in self.wrappers):
                self.wrappers.append(connection)

        connection_created.connect(on_created, weak=False, dispatch_uid="bench-search-watchdog")
        self.wrappers.extend(conn for conn in connections.all() if conn.connection is not None)

    def _interrupt(self) -> None:
        self.fired = True
        for wrapper in list(self.wrappers):
            raw = wrapper.connection
            stop = getattr(raw, "interrupt", None) or getattr(raw, "cancel", None)
            if stop is not None:
                try:
                    stop()
                except Exception:  # a connection closed meanwhile
                    continue

    def run(self, what: str, fn: Callable[[], Any]) -> float:
        """``fn()``'s wall time in milliseconds; :class:`TimedOut` if it ran over the limit."""
        self.fired = False
        timer = threading.Timer(self.seconds, self._interrupt)
        timer.start()
        started = time.perf_counter()
        try:
            fn()
        except Exception as exc:
            if self.fired:
                raise TimedOut(f"{what} ran over {self.seconds:g} s and was interrupted") from exc
            raise
        finally:
            timer.cancel()
        elapsed = 1000 * (time.perf_counter() - started)
        if self.fired:  # finished just as the timer fired
            raise TimedOut(f"{what} ran over {self.seconds:g} s")
        return elapsed


_SUBQUERY_LIMIT = re.compile(r"\(\s*SELECT\b.*\bLIMIT\s+\d+", re.IGNORECASE | re.DOTALL)


def offences(statements: list[tuple[str, float]]) -> list[str]:
    """Statements with an OFFSET, or a COUNT( not over a LIMIT-ed subquery."""
    bad = []
    for sql, _ in statements:
        if re.search(r"\bOFFSET\b", sql, re.IGNORECASE) or (
            "COUNT(" in sql.upper() and not _SUBQUERY_LIMIT.search(sql)
        ):
            bad.append(sql)
    return bad


def explain(statements: list[tuple[str, float]]) -> None:
    from django.db import connection

    for sql, ms in statements:
        print(f"    {ms:8.2f} ms  {sql[:300]}{'…' if len(sql) > 300 else ''}")
        if connection.vendor != "sqlite" or not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            for row in cursor.fetchall():
                print(f"                {row[-1]}")


def url_of(base: str, query: Any) -> str:
    params: dict[str, str] = {}
    if query.text:
        params["q"] = query.text
    for name, values in query.filters.items():
        params[name] = ",".join(values)
    if query.cursor:
        params["cursor"] = query.cursor
    params["size"] = str(query.size)
    return f"{base}/api/search/tenders/?{urllib.parse.urlencode(params)}"


def http_get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=60) as response:  # a local URL this script built
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"{url}: HTTP {response.status}")
    return json.loads(body)  # type: ignore[no-any-return]


class Server:
    """The project's WSGI application on 127.0.0.1 in a thread (wsgiref, one request at a time)."""

    def __enter__(self) -> Server:
        from wsgiref.simple_server import WSGIRequestHandler, make_server

        from django.core.wsgi import get_wsgi_application

        class Handler(WSGIRequestHandler):
            def setup(self) -> None:
                super().setup()
                # Headers and body leave in two writes; without this Nagle + delayed ACK add ~40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="bench-http", daemon=True)
        self.thread.start()
        http_get(f"{self.base}/api/search/health/")  # the first request imports the URLconf and views
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def _label(query: Any) -> str:
    label = query.text or json.dumps(dict(query.filters), ensure_ascii=False)
    return f"{label} sort={query.sort}" if query.sort else label


def check_agreement(kind: Kind, result: Result, watchdog: Watchdog) -> None:
    """The backend's page, total and facets beside the baseline's, for every query string of the kind."""
    from search.backends.database import DatabaseBackend

    backend = DatabaseBackend()
    for query in kind.queries:
        label = _label(query)
        pages: list[Any] = []
        watchdog.run(f"the search {label!r}", lambda q=query, pages=pages: pages.append(backend.search(q)))
        page = pages[0]
        kind.matches.append(page.total)
        base = naive(query, kind.page)
        ids = [hit.id for hit in page.hits]
        if ids != base["ids"]:
            result.agreement.append(f"{label}: page ids differ ({ids[:3]}… vs {base['ids'][:3]}…)")
        if not page.total_is_lower_bound:
            if page.total != base["total"]:
                result.agreement.append(f"{label}: total {page.total} vs {base['total']}")
            if page.facets != base["facets"]:
                result.agreement.append(f"{label}: facets differ")
        elif base["total"] <= page.total:
            result.agreement.append(f"{label}: total {page.total}+ but the baseline counts {base['total']}")


def measure(
    kind: Kind,
    args: argparse.Namespace,
    recorder: Recorder,
    watchdog: Watchdog,
    server: Server | None,
    result: Result | None = None,
) -> Result:
    """Agreement, SQL check, then the timed runs; a ``result`` that already has a timeout times the baseline only."""
    from search.backends.database import DatabaseBackend

    backend = DatabaseBackend()
    result = result or Result()
    first = kind.queries[0]
    result.sql_baseline = offences(recorder.record(lambda: naive(first, kind.page)))
    try:
        if not result.backend_timeout:
            check_agreement(kind, result, watchdog)  # also warms every query string, both ways
            result.sql_backend = offences(
                recorder.record(lambda: watchdog.run(f"the search {_label(first)!r}", lambda: backend.search(first)))
            )
    except TimedOut as exc:
        result.backend_timeout = str(exc)
    stride = max(1, args.repeat // max(1, args.baseline_repeat))
    gc.collect()
    for i in range(args.repeat):
        query = kind.queries[i % len(kind.queries)]
        if not result.backend_timeout:
            try:
                result.backend.append(watchdog.run(f"the search {_label(query)!r}", lambda q=query: backend.search(q)))
            except TimedOut as exc:
                result.backend_timeout = str(exc)
        if i % stride == 0 and len(result.baseline) < args.baseline_repeat:
            result.baseline.append(timed(lambda q=query: naive(q, kind.page)))
        elif result.backend_timeout and len(result.baseline) >= args.baseline_repeat:
            break
    if server is not None and not result.backend_timeout:
        urls = [url_of(server.base, q) for q in kind.queries]
        try:
            result.sql_http = offences(recorder.record(lambda: watchdog.run(urls[0], lambda: http_get(urls[0]))))
            for url in urls:
                watchdog.run(url, lambda u=url: http_get(u))
            for i in range(args.repeat):
                url = urls[i % len(urls)]
                result.http.append(watchdog.run(url, lambda u=url: http_get(u)))
        except TimedOut as exc:
            result.http_timeout = str(exc)
    return result


# --- reporting ----------------------------------------------------------------------------------------------------


def _fmt(samples: list[float], p: float, timeout: str, limit: float) -> str:
    if timeout:
        return f">{1000 * limit:.0f}"
    return f"{percentile(samples, p):.1f}" if samples else "–"


def report(rows: list[tuple[Kind, Result]], args: argparse.Namespace) -> None:
    from search.backends.database import total_cap

    head = ("query type", "strings", "matches", "p50", "p99", "base p50", "base p99", "base/be")
    head += ("HTTP p50", "HTTP p99", "HTTP/be")
    print("\n{:<20} {:>7} {:>13} {:>7} {:>7} {:>9} {:>9} {:>8} {:>9} {:>9} {:>8}".format(*head))
    limit = args.timeout
    for kind, r in rows:
        be50 = 1000 * limit if r.backend_timeout else statistics.median(r.backend) if r.backend else math.nan
        ratio = statistics.median(r.baseline) / be50 if r.baseline else math.nan
        ratio_cell = f"<{ratio:.2f}" if r.backend_timeout else f"{ratio:.2f}"
        http_ratio = "–"
        if r.http and not r.http_timeout:
            http_ratio = f"{statistics.median(r.http) / be50:.2f}"
        matches = f"{min(kind.matches)}–{max(kind.matches)}" if kind.matches else "?"
        print(
            f"{kind.label:<20} {len(kind.queries):>7} {matches:>13}"
            f" {_fmt(r.backend, 50, r.backend_timeout, limit):>7} {_fmt(r.backend, 99, r.backend_timeout, limit):>7}"
            f" {_fmt(r.baseline, 50, '', limit):>9} {_fmt(r.baseline, 99, '', limit):>9} {ratio_cell:>8}"
            f" {_fmt(r.http, 50, r.http_timeout, limit):>9} {_fmt(r.http, 99, r.http_timeout, limit):>9}"
            f" {http_ratio:>8}"
        )
    n_base = max(len(r.baseline) for _, r in rows)
    print(
        f"milliseconds, wall clock, medians and ratios from this one run. p50/p99: {args.repeat} backend runs per"
        f" type (nearest rank), rotating through the type's query strings; base: {n_base} runs of the naive listing"
        f" per type, interleaved with the backend's{' (p99 of so few is their maximum)' if n_base < 100 else ''};"
        f" HTTP: {args.repeat if args.http else 0} GETs per type. base/be, HTTP/be: ratios of the medians."
        f" matches: the backend's total per query string (capped at {total_cap():,})."
        + (
            f" >{1000 * limit:.0f}: interrupted at the --timeout of {limit:g} s."
            if any(r.backend_timeout or r.http_timeout for _, r in rows)
            else ""
        )
    )
    for kind, r in rows:
        for what in (r.backend_timeout, r.http_timeout):
            if what:
                print(f"  {kind.label}: {what}")

    print("\nSQL check (one search of each type; OFFSET, or COUNT( not over a LIMIT-ed subquery):")
    for kind, r in rows:
        checks = [("backend", r.sql_backend, r.backend_timeout)]
        if args.http:
            checks.append(("HTTP", r.sql_http, r.backend_timeout or r.http_timeout))
        for where, bad, timeout in checks:
            if timeout:
                print(f"  {kind.label:<20} {where:<8} not checked (timed out)")
            elif bad:
                print(f"  {kind.label:<20} {where:<8} OFFENDS:")
                for sql in bad:
                    print(f"      {sql[:400]}")
            else:
                print(f"  {kind.label:<20} {where:<8} no whole-table COUNT, no OFFSET")
        n_bad = len(r.sql_baseline)
        print(f"  {kind.label:<20} {'baseline':<8} {n_bad} offending statement(s) (expected: the naive listing)")

    print("\nagreement with the baseline (page ids, exact totals and facets, every query string):")
    for kind, r in rows:
        if r.backend_timeout and not r.agreement:
            state = "not checked (timed out)"
        else:
            state = "same" if not r.agreement else "DIFFERS: " + "; ".join(r.agreement[:5])
        print(f"  {kind.label:<20} {state}")

    print(f"\nverdict (goal: in-process p99 ≤ {GOAL_MS:.0f} ms at 100k tenders; this run: {args.tenders:,}):")
    for kind, r in rows:
        if r.backend_timeout:
            verdict = f"p99 > {1000 * limit:.0f} ms (interrupted): MISSES"
        else:
            p99 = percentile(r.backend, 99)
            verdict = f"p99 {p99:.1f} ms ≤ {GOAL_MS:.0f} ms: OK" if p99 <= GOAL_MS else f"p99 {p99:.1f} ms: MISSES"
        print(f"  {kind.label:<20} {verdict}")


def json_rows(rows: list[tuple[Kind, Result]], args: argparse.Namespace) -> list[dict[str, object]]:
    """The headline per query type for bench/run.py: the in-process p99 against the goal (no ceiling: the naive
    listing is a baseline, not a bound)."""
    from django.db import connection

    out: list[dict[str, object]] = []
    for kind, r in rows:
        p99 = 1000 * args.timeout if r.backend_timeout else percentile(r.backend, 99)
        out.append(
            {
                "figure": f"search {kind.label}, in process, {args.tenders:,} tenders, {connection.vendor}",
                "value": percentile(r.backend, 50) if r.backend else p99,
                "unit": "ms p50",
                "p99_ms": p99,
                "goal": f"p99 <= {GOAL_MS:.0f} ms",
                "met": not r.backend_timeout and p99 <= GOAL_MS,
            }
        )
    return out


def describe_database(tmp: Path) -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        size = sum(p.stat().st_size for p in tmp.glob("bench.sqlite3*"))
        return f"SQLite {sqlite3.sqlite_version} (file {size / 2**20:.0f} MiB with WAL)"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        return str(cursor.fetchone()[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tenders", type=int, default=100_000, help="tenders to generate (default 100,000)")
    parser.add_argument("--repeat", type=int, default=200, help="backend runs (and HTTP GETs) per query type")
    parser.add_argument("--baseline-repeat", type=int, default=20, help="naive-listing runs per query type")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated tenders")
    parser.add_argument("--http", action=argparse.BooleanOptionalAction, default=True, help="time the HTTP API too")
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE after the build, before timing")
    parser.add_argument(
        "--index", action="append", default=[], metavar="SQL", help="extra CREATE INDEX to try (repeatable)"
    )
    parser.add_argument(
        "--total-cap", type=int, help="AGORA_SEARCH_TOTAL_CAP for this run (default: the setting's, 10,000)"
    )
    parser.add_argument("--explain", action="store_true", help="print each type's statements, times and plans")
    parser.add_argument("--only", action="append", default=[], help="query types to run (two, four, faceted, …)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before one search is interrupted")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory and print its path")
    parser.add_argument("--reuse", metavar="DIR", help="a directory kept by --keep: time on its database, no build")
    parser.add_argument("--debug", action="store_true", help="run with DEBUG on (Django then logs every query)")
    parser.add_argument(
        "--database-url", help="PostgreSQL URL of an empty, throwaway database (default: a temporary SQLite file)"
    )
    parser.add_argument("--json", help="also write the headline figures to this file (bench/run.py reads it)")
    args = parser.parse_args(argv)
    if args.reuse and not (Path(args.reuse) / "bench.sqlite3").is_file():
        parser.error(f"--reuse: no bench.sqlite3 in {args.reuse}")
    if args.tenders < 100 or args.repeat < 1 or args.baseline_repeat < 0:
        parser.error("--tenders at least 100, --repeat positive, --baseline-repeat not negative")

    tmp = Path(args.reuse) if args.reuse else Path(tempfile.mkdtemp(prefix="agora-bench-search-"))
    keep = args.keep or bool(args.reuse)
    try:
        configure(tmp, database_url=args.database_url, debug=args.debug, total_cap=args.total_cap)
        from django.db import connection

        if args.reuse:
            from market.models import Tender

            args.tenders = Tender.objects.count()
        print(
            f"search benchmark: {args.tenders:,} tenders{'' if args.reuse else f' (seed {args.seed})'},"
            f" {connection.vendor}, DEBUG {'on' if args.debug else 'off'}, {os.cpu_count()} CPUs,"
            f" {platform.machine()}, Python {platform.python_version()}, {platform.platform(terse=True)}"
        )
        if args.reuse:
            print(f"reusing the database in {tmp} (no build)")
        else:
            timings = build(args.tenders, args.seed)
            print(
                f"build: {args.tenders:,} tenders inserted (bulk_create) in {timings['tenders']:.1f} s,"
                f" {int(timings['indexed']):,} indexed (DatabaseBackend.rebuild) in {timings['index']:.1f} s"
            )
        with connection.cursor() as cursor:
            for sql in args.index:
                started = time.perf_counter()
                cursor.execute(sql)
                print(f"extra index ({time.perf_counter() - started:.1f} s): {sql}")
            if args.analyze:
                started = time.perf_counter()
                cursor.execute("ANALYZE")
                print(f"ANALYZE in {time.perf_counter() - started:.1f} s")
        print(describe_database(tmp))
        from market.models import Tender

        for t in Tender.objects.select_related("purchaser").order_by("pk")[:3]:
            print(f"  e.g. {t.title} | {t.purchaser.name} | {t.description}")

        recorder, watchdog = Recorder(), Watchdog(args.timeout)
        recorder.install()
        watchdog.install()
        selected = [k for k in kinds() if not args.only or k.key in args.only]
        rows = []
        with Server() if args.http else contextlib.nullcontext() as server:
            for kind in selected:
                started = time.perf_counter()
                early = Result()
                try:
                    reached = kind.page == 1 or attach_cursors(kind, watchdog)
                except TimedOut as exc:
                    reached, early.backend_timeout = True, str(exc)
                if not reached:
                    print(f"  skipped {kind.label}: no query string has that many pages with {args.tenders:,} tenders")
                    continue
                result = measure(kind, args, recorder, watchdog, server, early)
                rows.append((kind, result))
                print(f"  measured {kind.label} in {time.perf_counter() - started:.1f} s")
                if args.explain:
                    explain_slowest(kind, recorder, watchdog)
        report(rows, args)
        result_write(args.json, "search", json_rows(rows, args), tenders=args.tenders, repeat=args.repeat)
        if keep:
            print(f"\nkept: {tmp} (--reuse {tmp} runs again on it without building)")
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def explain_slowest(kind: Kind, recorder: Recorder, watchdog: Watchdog) -> None:
    from search.backends.database import DatabaseBackend

    def run(query: Any) -> float:
        try:
            return watchdog.run("explain", lambda: DatabaseBackend().search(query))
        except TimedOut:
            return math.inf

    slowest = max(kind.queries, key=run)

    def once() -> None:
        with contextlib.suppress(TimedOut):
            watchdog.run("explain", lambda: DatabaseBackend().search(slowest))

    statements = recorder.record(once)
    print(
        f"  statements of the slowest {kind.label} ({_label(slowest)}): milliseconds in execute (SQLite's first"
        " step; rows fetched afterwards are not included) and query plans:"
    )
    explain(statements)


if __name__ == "__main__":
    sys.exit(main())
