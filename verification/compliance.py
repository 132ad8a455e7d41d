"""The verify pass (``heeded verify``): turn devices' inventories into verified
recommendations, and notice when a fix disappears.

Cost follows what changed, not what is stored: it reads the clients that have a
device whose inventory changed (``Device.needs_evaluation``, a partial index) or that
just went stale (``last_seen`` index, once per device), plus recommendations whose
status or rule changed since they were last evaluated. For each such recommendation
it stores the per-device states and the counts, then:

- accepted, in progress or implemented, and the rule holds: ``recommendation_mark_verified``;
- verified, and the rule no longer holds: ``recommendation_drift`` (follow-up escalates);
- rejected, and the rule holds: a ``verification.applied_while_rejected`` ledger event, once.

"Holds" means at least one device is in scope and the compliant share reaches
``HEEDED_VERIFY_THRESHOLD`` percent (100 by default: every in-scope device).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from ledger.services import event_append
from recommendations import services as lifecycle
from recommendations.choices import Status
from recommendations.lifecycle import LifecycleError
from recommendations.models import Recommendation
from verification.choices import DeviceState
from verification.models import (
    Device,
    DeviceCompliance,
    InstalledHotfix,
    MsrcRemediation,
    RecommendationCompliance,
)
from verification.msrc import superseding_map
from verification.rules import CveFix, Rule, RuleError, evaluate, parse_rule

log = logging.getLogger("heeded.verification")
ACTOR = "verification"
VERIFIABLE = (Status.ACCEPTED, Status.IN_PROGRESS, Status.IMPLEMENTED)
WATCHED = (*VERIFIABLE, Status.VERIFIED, Status.REJECTED)


@dataclasses.dataclass
class PassResult:
    clients: int = 0
    recommendations: int = 0
    verified: list[int] = dataclasses.field(default_factory=list)
    drifted: list[int] = dataclasses.field(default_factory=list)
    applied_while_rejected: list[int] = dataclasses.field(default_factory=list)
    newly_stale: int = 0


def stale_after() -> dt.timedelta:
    return dt.timedelta(days=settings.HEEDED_VERIFY_STALE_DAYS)


def holds(in_scope: int, compliant: int) -> bool:
    """True when at least one device is in scope and enough of them comply."""
    threshold: int = settings.HEEDED_VERIFY_THRESHOLD
    return in_scope > 0 and compliant * 100 >= threshold * in_scope


def verify_pass(*, now: dt.datetime) -> PassResult:
    result = PassResult()
    line = now - stale_after()
    with transaction.atomic():
        newly_stale = Device.objects.filter(last_seen__lt=line, counted_stale=False)
        result.newly_stale = newly_stale.update(counted_stale=True, needs_evaluation=True)
    # The changed devices, as they are now. Their flags are cleared only once their
    # client has been evaluated (and only if no report came in meanwhile), so a pass
    # killed half-way leaves the rest for the next one instead of losing them.
    dirty: dict[int, list[tuple[int, dt.datetime]]] = defaultdict(list)
    for pk, client_id, seen in Device.objects.filter(needs_evaluation=True).values_list(
        "pk", "client_id", "last_seen"
    ):
        dirty[client_id].append((pk, seen))
    client_ids = set(dirty)
    evaluated = RecommendationCompliance.objects.filter(
        recommendation=OuterRef("pk"), evaluated_at__gte=OuterRef("updated_at")
    )
    recs = (
        Recommendation.objects.filter(status__in=WATCHED)
        .exclude(verification_rule="")
        .filter(Q(client_id__in=client_ids) | ~Exists(evaluated))
        .select_related("client")
        .order_by("client_id", "pk")
    )
    by_client: dict[int, list[Recommendation]] = defaultdict(list)
    for rec in recs:
        by_client[rec.client_id].append(rec)
    chains = superseding_map() if by_client else {}
    for client_id, client_recs in by_client.items():
        result.clients += 1
        _verify_client(client_id, client_recs, chains=chains, now=now, result=result)
        _settle(dirty.pop(client_id, []))
    for devices in dirty.values():
        _settle(devices)
    return result


def _settle(devices: list[tuple[int, dt.datetime]], batch: int = 500) -> None:
    """Clear the flags of devices evaluated as they were read; a device reported
    again since (``last_seen`` moved) keeps its flag for the next pass."""
    for i in range(0, len(devices), batch):
        unchanged = Q()
        for pk, seen in devices[i : i + batch]:
            unchanged |= Q(pk=pk, last_seen=seen)
        Device.objects.filter(unchanged, needs_evaluation=True).update(needs_evaluation=False)


def _cve_fixes(rules: Iterable[Rule]) -> dict[str, list[CveFix]]:
    cves = set().union(*(r.cves() for r in rules))
    fixes: dict[str, list[CveFix]] = defaultdict(list)
    rows = MsrcRemediation.objects.filter(cve__in=cves).exclude(kb=None)
    for cve, kb, build in rows.values_list("cve", "kb", "fixed_build"):
        if kb is not None:
            fixes[cve].append(CveFix(kb, build))
    return fixes


def _verify_client(
    client_id: int,
    recs: list[Recommendation],
    *,
    chains: dict[int, set[int]],
    now: dt.datetime,
    result: PassResult,
) -> None:
    devices = list(Device.objects.filter(client_id=client_id))
    kbs: dict[int, set[int]] = defaultdict(set)
    rows = InstalledHotfix.objects.filter(device__client_id=client_id).exclude(kb=None)
    for device_id, kb in rows.values_list("device_id", "kb"):
        if kb is not None:
            kbs[device_id].add(kb)
    parsed: dict[int, Rule | str] = {}
    for rec in recs:
        try:
            rule = parse_rule(rec.verification_rule)
        except RuleError as exc:
            parsed[rec.pk] = exc.message
            continue
        if rule is not None:
            parsed[rec.pk] = rule
    cve_fixes = _cve_fixes(r for r in parsed.values() if isinstance(r, Rule))
    for rec in recs:
        rule_or_error = parsed.get(rec.pk)
        if rule_or_error is None:
            continue
        result.recommendations += 1
        try:
            _verify_one(rec, rule_or_error, devices, kbs, chains, cve_fixes, now, result)
        except LifecycleError as exc:
            # Its status moved under us (a person acted meanwhile): the next pass sees it.
            log.info("verification of recommendation %s skipped: %s", rec.pk, exc)


def _verify_one(
    rec: Recommendation,
    rule: Rule | str,
    devices: list[Device],
    kbs: dict[int, set[int]],
    chains: dict[int, set[int]],
    cve_fixes: dict[str, list[CveFix]],
    now: dt.datetime,
    result: PassResult,
) -> None:
    states: list[DeviceCompliance] = []
    if isinstance(rule, Rule):
        for device in devices:
            if rule.in_scope(device):
                state, detail = evaluate(
                    rule,
                    device,
                    kbs=kbs.get(device.pk, set()),
                    chains=chains,
                    cve_fixes=cve_fixes,
                    now=now,
                    stale_after=stale_after(),
                )
                states.append(
                    DeviceCompliance(
                        recommendation=rec,
                        device=device,
                        state=state,
                        detail=detail,
                        evaluated_at=now,
                    )
                )
    counts = {s: 0 for s in DeviceState.values}
    for row in states:
        counts[row.state] += 1
    in_scope = len(states)
    ok = isinstance(rule, Rule) and holds(in_scope, counts[DeviceState.COMPLIANT])
    with transaction.atomic():
        DeviceCompliance.objects.filter(recommendation=rec).delete()
        DeviceCompliance.objects.bulk_create(states, batch_size=500)
        summary, _ = RecommendationCompliance.objects.update_or_create(
            recommendation=rec,
            defaults={
                "in_scope": in_scope,
                "compliant": counts[DeviceState.COMPLIANT],
                "not_compliant": counts[DeviceState.NOT_COMPLIANT],
                "unknown": counts[DeviceState.UNKNOWN],
                "stale": counts[DeviceState.STALE],
                "holds": ok,
                "rule_error": rule if isinstance(rule, str) else "",
                "evaluated_at": now,
            },
        )
        evidence = f"verification: {counts[DeviceState.COMPLIANT]} of {in_scope} devices compliant"
        if rec.status in VERIFIABLE and ok:
            lifecycle.recommendation_mark_verified(
                recommendation=rec, actor=ACTOR, now=now, evidence_ref=evidence
            )
            result.verified.append(rec.pk)
        elif rec.status == Status.VERIFIED and not ok and in_scope:
            # Drift is evidence lost: a device in scope that no longer complies or no
            # longer reports. With no device in scope (no collector at this client, or
            # none tagged) the pass has nothing to say about an item a person verified.
            lifecycle.recommendation_drift(
                recommendation=rec, actor=ACTOR, now=now, reason=_drift_reason(states, rule)
            )
            result.drifted.append(rec.pk)
        elif rec.status == Status.REJECTED:
            if ok and summary.applied_while_rejected_noted_at is None:
                event_append(
                    client=rec.client,
                    kind="verification.applied_while_rejected",
                    actor=ACTOR,
                    at=now,
                    recommendation_id=rec.pk,
                    data={"in_scope": in_scope, "compliant": counts[DeviceState.COMPLIANT]},
                )
                summary.applied_while_rejected_noted_at = now
                result.applied_while_rejected.append(rec.pk)
            elif not ok:
                summary.applied_while_rejected_noted_at = None
            summary.save(update_fields=["applied_while_rejected_noted_at"])
        # The transition moved updated_at: mark the summary as read after it.
        RecommendationCompliance.objects.filter(pk=summary.pk).update(evaluated_at=now)


def _drift_reason(states: list[DeviceCompliance], rule: Rule | str) -> str:
    if isinstance(rule, str):
        return f"The verification rule no longer reads: {rule}"
    if not states:
        return "No device is in the rule's scope any more."
    failing = [s for s in states if s.state != DeviceState.COMPLIANT]
    shown = ", ".join(
        f"{s.device.computer_name} ({s.get_state_display().lower()}"
        + (f": {s.detail})" if s.detail else ")")
        for s in failing[:5]
    )
    more = f" and {len(failing) - 5} more" if len(failing) > 5 else ""
    n, total = len(failing), len(states)
    return f"The verification rule no longer holds on {n} of {total} devices: {shown}{more}."
