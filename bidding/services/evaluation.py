"""Evaluation and award (评标、定标, DOMAIN.md methods table and states).

When the opening closes, the valid bids are counted: fewer than the tender's minimum and the
tender fails (废标). The price and lottery methods then evaluate at once; open tenders wait for
the committee's score sheets, which the trading centre records member by member; a direct
selection waits for the purchaser's pick. Each evaluation runs the method's pure function in
:mod:`bidding.methods`, is written as a canonical JSON record signed by the platform, moves the
tender to publicity and publishes the candidates with the record. An upheld objection to the
result brings the tender back (a new round; earlier records stay).

The verifiable lottery (:mod:`bidding.lottery`) commits at publication: a secret sealed to the
tender's opening key, its hash in the tender notice. The opening reveals it; the draw publishes
it, with the seed and the order, so anyone can recompute the draw.
"""

from __future__ import annotations

import base64
import hashlib
import os
from decimal import Decimal, InvalidOperation
from typing import Any

from accounts.models import User
from agencies.ca import platform_ca
from agencies.choices import RestrictedAction
from agencies.eligibility import agencies_may
from bidding import crypto, lottery, methods, protocol
from bidding.models import Bid, BidStatus, CommitteeScore, EvaluationRecord, LotteryCommitment, OpeningKey
from core import clock
from core.audit import audit_record
from core.canonical import to_jsonable
from core.clock import format_local as _fmt
from core.errors import ApplicationError, NotFound, require_reason
from market.access import require_own_tender
from market.choices import Method, NoticeKind, TenderStatus
from market.models import Tender
from market.rules import rules_of
from market.services.notices import notice_publish
from market.services.transitions import tender_move

# At most three candidates are publicised, in order (招标投标法实施条例 §53–54).
CANDIDATES = 3
# The methods whose result the platform computes the moment the opening closes.
AUTOMATIC = frozenset({Method.LOWEST_PRICE, Method.OPTIMAL_PRICE, Method.LOTTERY})
# Bids still in the running during evaluation.
VALID = (BidStatus.OPENED, BidStatus.CANDIDATE, BidStatus.UNSUCCESSFUL)
SCORE_MAX = Decimal(100)


# --- the verifiable lottery's commitment ---------------------------------------------------------------------


def draws_lots(tender: Tender) -> bool:
    """Does this tender's evaluation draw lots? Lottery and optimal price always do (and are
    refused at publication where the rules forbid lots); lowest price draws only to break ties,
    and breaks them by receipt time where lots are forbidden."""
    if tender.method in (Method.LOTTERY, Method.OPTIMAL_PRICE):
        return True
    return tender.method == Method.LOWEST_PRICE and rules_of(tender).lottery_allowed


def _lottery_context(tender: Tender) -> dict[str, str]:
    return {"tender": tender.reference, "purpose": "lottery-reveal"}


def lottery_commit(*, tender: Tender, opening_key: OpeningKey, actor: User) -> LotteryCommitment | None:
    """At publication (the caller holds the tender's lock): pick the lottery's secret, seal it to
    the opening key and keep only the sealed secret and its commitment. None if no lots are drawn."""
    if not draws_lots(tender):
        return None
    reveal = os.urandom(lottery.REVEAL_LENGTH)
    committed = LotteryCommitment.objects.create(
        tender=tender,
        commitment=lottery.commitment(reveal),
        sealed_reveal=crypto.seal(
            plaintext=reveal,
            recipient_public=bytes.fromhex(opening_key.public_key),
            associated=_lottery_context(tender),
            suite=opening_key.suite,
        ),
        created_at=clock.now(),
    )
    del reveal
    audit_record(
        actor=actor,
        action="tender.lottery_commit",
        obj=committed,
        after={"tender": tender.reference, "commitment": committed.commitment, "algorithm": lottery.ALGORITHM},
    )
    return committed


def lottery_notice_data(tender: Tender) -> dict[str, str] | None:
    committed = LotteryCommitment.objects.filter(tender=tender).first()
    if committed is None:
        return None
    return {"algorithm": lottery.ALGORITHM, "commitment": committed.commitment}


def lottery_reveal_locked(tender: Tender, private_key: bytes) -> None:
    """At the opening, while the rebuilt key is in memory: open the sealed secret and keep it for
    the draw. A secret that does not match its published commitment is a platform fault and stops
    the opening (the transaction rolls back, the shares can be submitted again)."""
    committed = LotteryCommitment.objects.select_for_update().filter(tender=tender).first()
    if committed is None or committed.reveal:
        return
    reveal = crypto.open_sealed(
        envelope=bytes(committed.sealed_reveal), recipient_private=private_key, associated=_lottery_context(tender)
    )
    if lottery.commitment(reveal) != committed.commitment:
        raise ApplicationError(
            "lottery_commitment_mismatch",
            "The lottery secret does not match its published commitment.",
            "抽签随机数与公告承诺值不符。",
            status=500,
        )
    committed.reveal, committed.revealed_at = reveal.hex(), clock.now()
    committed.save(update_fields=["reveal", "revealed_at"])


def _draw(tender: Tender) -> methods.Draw | None:
    if not draws_lots(tender):
        return None
    committed = LotteryCommitment.objects.filter(tender=tender).first()
    if committed is None or not committed.reveal:
        raise ApplicationError(
            "lottery_not_revealed",
            "The lottery secret has not been revealed by the opening.",
            "抽签随机数尚未在开标时揭示。",
            status=409,
        )
    return methods.Draw(tender=tender.reference, reveal=committed.reveal, commitment=committed.commitment)


# --- what evaluation works on ---------------------------------------------------------------------------------


def _round(tender: Tender) -> int:
    return int(EvaluationRecord.objects.filter(tender=tender).count()) + 1


def _standing(tender: Tender) -> list[Bid]:
    return list(
        Bid.objects.select_for_update(of=("self",))
        .select_related("agency")
        .filter(tender=tender, status__in=VALID)
        .order_by("received_at", "id")
    )


def _eligible(tender: Tender, bids: list[Bid]) -> tuple[list[Bid], dict[int, str]]:
    """Bids whose agency may still take part now: an agency black-listed since the deadline can
    neither win nor be drawn (DOMAIN.md credit)."""
    action = RestrictedAction.BE_DRAWN if tender.method == Method.LOTTERY else RestrictedAction.BID
    verdicts = agencies_may({b.agency_id for b in bids}, action, clock.now())
    kept, excluded = [], {}
    for b in bids:
        verdict = verdicts[b.agency_id]
        if verdict:
            kept.append(b)
        else:
            excluded[b.pk] = f"评审时不具备资格：{verdict.detail_zh}"
    return kept, excluded


def _valid(bid: Bid) -> methods.ValidBid:
    assert bid.price is not None  # an opened bid has its price read
    return methods.ValidBid(
        bid=bid.pk, agency=bid.agency.uscc, price=bid.price, received_at=bid.received_at, digest=bid.ciphertext_digest
    )


def _scores(tender: Tender, round_: int) -> dict[str, dict[int, Decimal]]:
    sheets: dict[str, dict[int, Decimal]] = {}
    for code, bid_id, score in CommitteeScore.objects.filter(tender=tender, round=round_).values_list(
        "member_code", "bid_id", "score"
    ):
        sheets.setdefault(code, {})[bid_id] = score
    return sheets


def _outcome(tender: Tender, bids: list[methods.ValidBid], *, pick: tuple[int, str] | None) -> methods.Outcome:
    if tender.method == Method.OPEN_TENDER:
        ids = {b.bid for b in bids}
        # A bid set aside since the sheets were recorded (its agency barred meanwhile) drops out of every sheet.
        scores = {
            m: {k: v for k, v in sheet.items() if k in ids} for m, sheet in _scores(tender, _round(tender)).items()
        }
        members = rules_of(tender).committee_min_members
        if len(scores) < members or len(scores) % 2 == 0:
            raise ApplicationError(
                "committee_incomplete",
                f"The committee needs at least {members} members, an odd number; {len(scores)} have scored.",
                f"评标委员会须由不少于 {members} 人的单数成员组成，目前 {len(scores)} 人已评分。",
                status=409,
            )
        return methods.open_tender(bids, scores)
    if tender.method == Method.LOWEST_PRICE:
        return methods.lowest_price(bids, floor=tender.price_floor, ceiling=tender.budget, draw=_draw(tender))
    if tender.method == Method.OPTIMAL_PRICE:
        draw = _draw(tender)
        assert draw is not None  # optimal price always draws its base
        return methods.optimal_price(bids, floor=tender.price_floor, ceiling=tender.budget, draw=draw)
    if tender.method == Method.LOTTERY:
        draw = _draw(tender)
        assert draw is not None
        return methods.lottery_draw(bids, draw=draw, fixed_price=tender.budget)
    if pick is None:
        raise ApplicationError(
            "purchaser_picks",
            "In a direct selection the purchaser picks the agency.",
            "直接选取由采购人选定。",
            status=409,
        )
    return methods.direct(bids, chosen=pick[0], reason=pick[1])


# --- concluding a round ---------------------------------------------------------------------------------------


def _record(
    tender: Tender, round_: int, rows: list[dict[str, Any]], outcome: methods.Outcome, result: str
) -> EvaluationRecord:
    opening = getattr(tender, "opening_record", None)
    record = to_jsonable(
        {
            "type": protocol.EVALUATION_RECORD_TYPE,
            "tender": tender.reference,
            "title": tender.title,
            "method": tender.method,
            "round": round_,
            "evaluated_at": clock.now(),
            "opening_record_digest": opening.digest if opening else None,
            "min_bids": tender.min_bids,
            "bids": rows,
            "ranking": outcome.ranking,
            "details": outcome.details,
            "draw": outcome.draw,
            "result": result,
        }
    )
    payload = crypto.signed_payload(record)
    signature = crypto.sign(platform_ca().key, payload)
    return EvaluationRecord.objects.create(
        tender=tender,
        round=round_,
        record=record,
        digest=hashlib.sha256(payload).hexdigest(),
        signature=signature,
        created_at=clock.now(),
    )


def published(evaluation: EvaluationRecord) -> dict[str, Any]:
    """An evaluation record as published: verifiable with ``offline_verify.py`` and, when it drew
    lots, recomputable with ``lottery.py``."""
    return {
        "record": evaluation.record,
        "digest": evaluation.digest,
        "signature": base64.b64encode(bytes(evaluation.signature)).decode(),
    }


def _row(bid: Bid, rank: int | None, result: str) -> dict[str, Any]:
    """One bid's line in the evaluation record."""
    return {
        "bid": bid.pk,
        "agency": bid.agency.name,
        "uscc": bid.agency.uscc,
        "price": bid.price,
        "digest": bid.ciphertext_digest,
        "received_at": bid.received_at,
        "rank": rank,
        "result": result,
        "reason": bid.result_reason,
    }


def _conclude_locked(tender: Tender, *, actor: User | None, pick: tuple[int, str] | None = None) -> EvaluationRecord:
    """Evaluate the tender the caller has locked by its method; record, publish and move it on."""
    round_ = _round(tender)
    standing = _standing(tender)
    eligible, excluded = _eligible(tender, standing)
    if len(eligible) < max(tender.min_bids, 1):
        # Too few valid bids to evaluate at all: nothing to score, rank or draw.
        outcome = methods.Outcome(ranking=[], details={"rule": "too few valid bids to evaluate"})
    else:
        try:
            outcome = _outcome(tender, [_valid(b) for b in eligible], pick=pick)
        except methods.EvaluationError as exc:
            raise ApplicationError(exc.code, exc.detail, exc.detail_zh) from None
    excluded |= outcome.excluded
    rank = {bid_id: i for i, bid_id in enumerate(outcome.ranking, 1)}
    # Too few left in the running: the tender fails (废标), whatever the ranking.
    failed = not outcome.ranking or (len(rank) < tender.min_bids and tender.method != Method.DIRECT)
    rows = []
    for b in standing:
        place = rank.get(b.pk)
        if b.pk in excluded:
            b.status, b.result_reason, result = BidStatus.REJECTED, excluded[b.pk], "excluded"
        elif place is not None and place <= CANDIDATES and not failed:
            b.status, b.result_reason, result = BidStatus.CANDIDATE, "", "candidate"
        else:
            b.status, b.result_reason, result = BidStatus.UNSUCCESSFUL, "", "unsuccessful"
        b.save(update_fields=["status", "result_reason"])
        rows.append(_row(b, place, result))
    # Bids set aside earlier (at the opening, or by the committee in this or an earlier round) are
    # listed with their reason, so the record accounts for every bid the opening read.
    for b in (
        Bid.objects.select_related("agency")
        .filter(tender=tender, opened_at__isnull=False)
        .exclude(pk__in=[b.pk for b in standing])
        .order_by("received_at", "id")
    ):
        rows.append(_row(b, None, "excluded"))
    evaluation = _record(tender, round_, rows, outcome, "failed" if failed else "publicity")
    publication = published(evaluation)
    audit_record(
        actor=actor,
        action="tender.evaluation_record",
        obj=evaluation,
        after={"tender": tender.reference, "round": round_, "digest": evaluation.digest, "ranking": outcome.ranking},
    )
    if failed:
        reason = f"有效投标 {len(rank)} 份，少于 {tender.min_bids} 份 / {len(rank)} valid bid(s), fewer than required"
        tender_move(
            tender,
            tender.fail_no_valid_bid,
            actor=actor,
            action="tender.fail_no_valid_bid",
            changes={
                "fail_reason": f"too_few_valid_bids: {len(rank)} < {tender.min_bids}",
                "closed_at": clock.now(),
                "winner": None,  # a candidate of an earlier round no longer stands
            },
            note={"reason": reason, "evaluation": evaluation.digest},
        )
        notice_publish(
            tender=tender,
            kind=NoticeKind.FAILURE,
            title=f"{tender.title} 废标公告",
            actor=actor,
            body=f"评审结束：{reason}，本次招标失败（废标）。采购人可依法重新招标。\n评审记录摘要：{evaluation.digest}",
            data=publication,
        )
        return evaluation
    by_id = {b.pk: b for b in standing}
    first = by_id[outcome.ranking[0]]
    publicity_ends_at = clock.now() + rules_of(tender).publicity_period
    tender_move(
        tender,
        tender.record_result,
        actor=actor,
        action="tender.record_result",
        changes={"publicity_ends_at": publicity_ends_at, "winner": first.agency},
        note={"round": round_, "ranking": outcome.ranking, "evaluation": evaluation.digest},
    )
    lines = "\n".join(
        f"第{i}名：{by_id[pk].agency.name}（{by_id[pk].agency.uscc}）报价 {by_id[pk].price} 元"
        for i, pk in enumerate(outcome.ranking[:CANDIDATES], 1)
    )
    draw = outcome.draw
    lots = (
        f"\n抽签：算法 {draw['algorithm']}，承诺值 {draw['commitment']}，揭示值 {draw['reveal']}，种子 {draw['seed']}"
        if draw
        else ""
    )
    notice_publish(
        tender=tender,
        kind=NoticeKind.CANDIDATES,
        title=f"{tender.title} 中标（中选）候选人公示",
        actor=actor,
        body=(
            f"选取方式：{tender.get_method_display()}（第 {round_} 轮评审）\n{lines}{lots}\n"
            f"公示期至 {_fmt(publicity_ends_at)}，期间可依法提出异议。\n评审记录摘要（SHA-256）：{evaluation.digest}"
        ),
        data=publication | {"publicity_ends_at": publicity_ends_at.isoformat()},
    )
    return evaluation


def evaluation_on_entry(tender: Tender) -> None:
    """The clock closed the opening (the caller holds the lock): too few valid bids fail the tender
    at once; the price and lottery methods are evaluated at once."""
    valid = Bid.objects.filter(tender=tender, status__in=VALID).count()
    if valid < tender.min_bids or valid == 0 or tender.method in AUTOMATIC:
        _conclude_locked(tender, actor=None)


def award_bids_locked(tender: Tender) -> None:
    """The award took effect: the first candidate's bid wins; the other candidates are unsuccessful."""
    Bid.objects.filter(tender=tender, status=BidStatus.CANDIDATE, agency_id=tender.winner_id).update(
        status=BidStatus.WINNER
    )
    Bid.objects.filter(tender=tender, status=BidStatus.CANDIDATE).update(status=BidStatus.UNSUCCESSFUL)


# --- the actors' steps ----------------------------------------------------------------------------------------


def _require_evaluating(tender: Tender) -> None:
    if tender.status != TenderStatus.EVALUATING:
        raise ApplicationError(
            "not_evaluating", "The tender is not under evaluation.", "项目不在评审阶段。", status=409
        )


def _decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        number = Decimal("NaN")
    if not number.is_finite() or not Decimal(0) <= number <= SCORE_MAX or number != number.quantize(Decimal("0.01")):
        raise ApplicationError(
            "invalid_score",
            f"Scores are numbers from 0 to {SCORE_MAX} with at most two decimals.",
            f"评分须为 0 至 {SCORE_MAX} 之间、最多两位小数的数。",
            fields={field: [str(value)]},
        )
    return number


def committee_score_record_locked(
    tender: Tender,
    *,
    actor: User,
    member_code: str,
    member_name: str,
    scores: dict[Any, Any],
    breakdown: dict[Any, Any] | None = None,
) -> list[CommitteeScore]:
    """The trading centre records one committee member's score sheet for this round: a score from
    0 to 100 for every valid bid, and only those. A sheet is recorded once; nothing is overwritten."""
    member_code = require_reason(member_code, "A member's number", "评委编号")
    member_name = require_reason(member_name, "A member's name", "评委姓名")
    breakdown = breakdown or {}
    _require_evaluating(tender)
    if tender.method != Method.OPEN_TENDER:
        raise ApplicationError(
            "no_committee",
            "Only an open tender is scored by a committee.",
            "只有公开招标由评标委员会评分。",
            status=409,
        )
    round_ = _round(tender)
    if CommitteeScore.objects.filter(tender=tender, round=round_, member_code=member_code).exists():
        raise ApplicationError(
            "sheet_already_recorded",
            f"Member {member_code}'s sheet for round {round_} is already recorded.",
            f"评委 {member_code} 第 {round_} 轮评分已录入。",
            status=409,
        )
    valid = {b.pk: b for b in Bid.objects.filter(tender=tender, status__in=VALID)}
    try:
        given = {int(k): _decimal(v, str(k)) for k, v in scores.items()}
    except ValueError:
        raise ApplicationError("invalid", "Scores are keyed by bid id.", "评分须按投标编号填写。") from None
    if set(given) != set(valid):
        raise ApplicationError(
            "scores_incomplete",
            "A sheet scores every valid bid, and only those.",
            "评分表须对每一份有效投标评分（且仅限有效投标）。",
            fields={"scores": [f"valid bids: {sorted(valid)}"]},
        )
    now = clock.now()
    sheet = [
        CommitteeScore.objects.create(
            tender=tender,
            round=round_,
            member_code=member_code,
            member_name=member_name,
            bid=valid[bid_id],
            score=score,
            breakdown=to_jsonable(breakdown.get(str(bid_id), breakdown.get(bid_id, {}))),
            recorded_by=actor,
            recorded_at=now,
        )
        for bid_id, score in sorted(given.items())
    ]
    audit_record(
        actor=actor,
        action="evaluation.score_sheet",
        obj=tender,
        after={
            "tender": tender.reference,
            "round": round_,
            "member": member_code,
            "scores": {str(k): str(v) for k, v in sorted(given.items())},
        },
    )
    return sheet


def evaluation_disqualify_locked(tender: Tender, *, actor: User, bid_id: int, reason: str) -> Bid:
    """The committee sets a bid aside during evaluation (否决投标), with the reason; the trading
    centre records it. Scores already recorded in this round for other bids must then be redone:
    a sheet covers exactly the valid bids."""
    reason = require_reason(reason, "Setting a bid aside", "否决投标")
    _require_evaluating(tender)
    bid = Bid.objects.select_for_update().filter(tender=tender, pk=bid_id, status__in=VALID).first()
    if bid is None:
        raise NotFound("No valid bid with this id on this tender.", "本项目没有该有效投标。")
    if CommitteeScore.objects.filter(tender=tender, round=_round(tender)).exists():
        raise ApplicationError(
            "sheets_recorded",
            "Score sheets are already recorded for this round; set bids aside before scoring.",
            "本轮已录入评分，否决投标须在评分前进行。",
            status=409,
        )
    before = {"status": bid.status}
    bid.status, bid.result_reason = BidStatus.REJECTED, f"评审否决：{reason}"
    bid.save(update_fields=["status", "result_reason"])
    audit_record(
        actor=actor,
        action="evaluation.disqualify",
        obj=bid,
        before=before,
        after={"tender": tender.reference, "status": bid.status, "reason": reason},
    )
    return bid


def evaluation_conclude_locked(tender: Tender, *, actor: User) -> Tender:
    """The trading centre concludes a round: the committee's sheets for an open tender, or a new
    run of a price or lottery method after an objection was upheld."""
    _require_evaluating(tender)
    _conclude_locked(tender, actor=actor)
    return tender


def direct_pick_locked(tender: Tender, *, actor: User, bid_id: int, reason: str) -> Tender:
    """直接选取: the purchaser picks one valid bid of its direct-selection tender, with a reason."""
    reason = require_reason(reason, "A direct selection", "直接选取")
    _require_evaluating(tender)
    require_own_tender(actor, tender)
    if tender.method != Method.DIRECT:
        raise ApplicationError(
            "not_direct",
            "Only a direct selection is picked by the purchaser.",
            "只有直接选取项目由采购人选定。",
            status=409,
        )
    _conclude_locked(tender, actor=actor, pick=(bid_id, reason))
    return tender


def evaluation_view(*, tender: Tender, staff: bool) -> dict[str, Any]:
    """What anyone may read of a tender's evaluation: the published records and the bids in the
    running; staff also see which members' sheets are in for the current round."""
    records = [published(e) for e in EvaluationRecord.objects.filter(tender=tender).order_by("round")]
    view: dict[str, Any] = {
        "tender": tender.reference,
        "method": tender.method,
        "status": tender.status,
        "round": len(records) + (1 if tender.status == TenderStatus.EVALUATING else 0),
        "lottery": lottery_notice_data(tender),
        "records": records,
    }
    if tender.status == TenderStatus.EVALUATING:
        view["valid_bids"] = [
            {"bid": pk, "agency": name, "uscc": uscc, "price": price}
            for pk, name, uscc, price in Bid.objects.filter(tender=tender, status__in=VALID)
            .order_by("received_at", "id")
            .values_list("pk", "agency__name", "agency__uscc", "price")
        ]
        if staff:
            view["sheets"] = sorted(
                set(
                    CommitteeScore.objects.filter(tender=tender, round=view["round"]).values_list(
                        "member_code", flat=True
                    )
                )
            )
    jsonable: dict[str, Any] = to_jsonable(view)
    return jsonable
