"""Verification rules: the text of a template's (and its recommendations')
``verification_rule``, parsed into clauses that every in-scope device must meet.

One clause per line or between semicolons, case-insensitive (docs/collector.md):

    KB5073724 present                  any of the KBs, or a later KB superseding one
    KB5073724 or KB5073457 present     (one per OS product: a device needs any one)
    fixes CVE-2026-21519               a fix MSRC lists for the device's build, or a
                                       build at least the fixed one
    bitlocker on | smb1 off | defender on | firewall on
    on all devices                     the scope (the default), or
    on devices tagged laptops          only devices with that tag; also "on all
                                       workstations" for the tag "workstations"

A clause may end with its scope: ``KB5034441 present on all workstations``.
Evaluation is pure: it takes the device, its KBs, the supersedence chains, MSRC's
fixes and ``now``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence

from verification.choices import DeviceState
from verification.models import Device
from verification.msrc import satisfying_kbs

_KB_LIST = re.compile(r"^((?:kb\d{6,8})(?:\s*(?:,|or)\s*kb\d{6,8})*)\s+(?:is\s+)?present$")
_CVE = re.compile(r"^fixes\s+(cve-\d{4}-\d{4,7})$")
_SCOPE = re.compile(r"^(.*?)\s*\bon\s+(?:all\s+devices|devices\s+tagged\s+(\S+)|all\s+(\S+))$")
_CHECKS = {
    "bitlocker on": ("bitlocker_on", True, "BitLocker"),
    "smb1 off": ("smb1_enabled", False, "SMBv1"),
    "smbv1 off": ("smb1_enabled", False, "SMBv1"),
    "defender on": ("defender_rtp_on", True, "Defender real-time protection"),
}


class Msg:
    UNKNOWN_CLAUSE = (
        "Clause {n} ({text!r}) is not a rule Heeded knows: use 'KB… present', "
        "'fixes CVE-…', 'bitlocker on', 'smb1 off', 'defender on' or 'firewall on'."
    )
    TWO_SCOPES = "The rule names two scopes ({a!r} and {b!r}); give one."
    NOTHING_TO_CHECK = "The rule names a scope but nothing to check."


class RuleError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclasses.dataclass(frozen=True)
class KbPresent:
    kbs: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class FixesCve:
    cve: str


@dataclasses.dataclass(frozen=True)
class Check:
    field: str
    wanted: bool
    label: str


@dataclasses.dataclass(frozen=True)
class FirewallOn:
    pass


Clause = KbPresent | FixesCve | Check | FirewallOn


@dataclasses.dataclass(frozen=True)
class Rule:
    clauses: tuple[Clause, ...]
    tag: str | None = None

    def in_scope(self, device: Device) -> bool:
        return self.tag is None or self.tag in device.tags

    def cves(self) -> set[str]:
        return {c.cve for c in self.clauses if isinstance(c, FixesCve)}


def parse_rule(text: str) -> Rule | None:
    """The rule, None for an empty text, RuleError naming the clause at fault."""
    parts = [p.strip().lower() for p in re.split(r"[;\n]", text or "") if p.strip()]
    if not parts:
        return None
    clauses: list[Clause] = []
    tag: str | None = None
    scope_text: str | None = None
    for n, part in enumerate(parts, start=1):
        body = " ".join(part.split())
        scoped = _SCOPE.match(body)
        if scoped:
            if scope_text is not None:
                raise RuleError(Msg.TWO_SCOPES.format(a=scope_text, b=body))
            scope_text = body
            tag = scoped.group(2) or scoped.group(3)
            body = scoped.group(1).strip()
            if not body:
                continue
        clauses.append(_clause(body, n))
    if not clauses:
        raise RuleError(Msg.NOTHING_TO_CHECK)
    return Rule(tuple(clauses), tag)


def _clause(body: str, n: int) -> Clause:
    kb = _KB_LIST.match(body)
    if kb:
        return KbPresent(tuple(int(x) for x in re.findall(r"kb(\d+)", kb.group(1))))
    cve = _CVE.match(body)
    if cve:
        return FixesCve(cve.group(1).upper())
    if body in _CHECKS:
        return Check(*_CHECKS[body])
    if body == "firewall on":
        return FirewallOn()
    raise RuleError(Msg.UNKNOWN_CLAUSE.format(n=n, text=body))


@dataclasses.dataclass(frozen=True)
class CveFix:
    """One of MSRC's KB fixes for a CVE, as the rules need it."""

    kb: int
    fixed_build: str


def _build_parts(build: str) -> tuple[int, ...]:
    try:
        parts = tuple(int(p) for p in build.strip().split("."))
    except ValueError:
        return ()
    # "26100.7623" and "10.0.26100.7623" are the same build.
    return parts[-2:] if len(parts) >= 2 else ()


def evaluate(
    rule: Rule,
    device: Device,
    *,
    kbs: set[int],
    chains: dict[int, set[int]],
    cve_fixes: Mapping[str, Sequence[CveFix]],
    now: dt.datetime,
    stale_after: dt.timedelta,
) -> tuple[str, str]:
    """(state, detail) of ``device`` under ``rule``: stale when its last report is older
    than ``stale_after``; not compliant when a clause fails; unknown when a clause
    cannot be judged (no inventory, no check value, no MSRC fix for its build)."""
    if device.is_stale(now, stale_after):
        return DeviceState.STALE, f"no report since {device.last_seen:%Y-%m-%d}"
    unknown: list[str] = []
    for clause in rule.clauses:
        state, detail = _clause_state(clause, device, kbs, chains, cve_fixes)
        if state == DeviceState.NOT_COMPLIANT:
            return state, detail
        if state == DeviceState.UNKNOWN:
            unknown.append(detail)
    if unknown:
        return DeviceState.UNKNOWN, "; ".join(unknown)[:255]
    return DeviceState.COMPLIANT, ""


def _clause_state(
    clause: Clause,
    device: Device,
    kbs: set[int],
    chains: dict[int, set[int]],
    cve_fixes: Mapping[str, Sequence[CveFix]],
) -> tuple[str, str]:
    if isinstance(clause, KbPresent):
        if not device.hotfixes_known:
            return DeviceState.UNKNOWN, "no hotfix list yet"
        if kbs & satisfying_kbs(clause.kbs, chains):
            return DeviceState.COMPLIANT, ""
        return DeviceState.NOT_COMPLIANT, _kb_names(clause.kbs) + " missing"
    if isinstance(clause, FixesCve):
        return _cve_state(clause.cve, device, kbs, chains, cve_fixes.get(clause.cve, ()))
    if isinstance(clause, Check):
        value = getattr(device, clause.field)
        if value is None:
            return DeviceState.UNKNOWN, f"{clause.label} not reported"
        if value == clause.wanted:
            return DeviceState.COMPLIANT, ""
        return DeviceState.NOT_COMPLIANT, f"{clause.label} {'off' if clause.wanted else 'on'}"
    profiles = device.firewall or {}
    if not profiles:
        return DeviceState.UNKNOWN, "firewall not reported"
    off = sorted(name for name, on in profiles.items() if not on)
    if off:
        return DeviceState.NOT_COMPLIANT, "firewall off: " + ", ".join(off)
    return DeviceState.COMPLIANT, ""


def _cve_state(
    cve: str,
    device: Device,
    kbs: set[int],
    chains: dict[int, set[int]],
    fixes: Sequence[CveFix],
) -> tuple[str, str]:
    if not fixes:
        return DeviceState.UNKNOWN, f"no MSRC fix known for {cve}"
    build = _build_parts(device.os_build)
    if not build:
        return DeviceState.UNKNOWN, "OS build not reported"
    # The fixes for this device's product: those whose fixed build is on its branch.
    mine = [f for f in fixes if (fb := _build_parts(f.fixed_build)) and fb[0] == build[0]]
    if not mine:
        return DeviceState.UNKNOWN, f"{cve} lists no fix for build {build[0]}"
    if kbs & satisfying_kbs((f.kb for f in mine), chains):
        return DeviceState.COMPLIANT, ""
    if any(build >= _build_parts(f.fixed_build) for f in mine):
        return DeviceState.COMPLIANT, ""
    return DeviceState.NOT_COMPLIANT, f"{cve}: {_kb_names(f.kb for f in mine)} missing"


def _kb_names(kbs: Iterable[int]) -> str:
    return " or ".join(f"KB{kb}" for kb in sorted(set(kbs)))
