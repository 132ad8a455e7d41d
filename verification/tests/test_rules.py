"""Parsing verification rules: every clause Heeded knows, and a located refusal."""

from __future__ import annotations

import pytest

from verification.rules import Check, FirewallOn, FixesCve, KbPresent, Msg, RuleError, parse_rule


def test_an_empty_rule_is_no_rule():
    assert parse_rule("  \n ") is None


def test_the_catalogs_own_wording_reads_as_a_kb_rule_scoped_to_a_tag():
    rule = parse_rule("KB5034441 present on all workstations")
    assert rule is not None
    assert rule.clauses == (KbPresent((5034441,)),) and rule.tag == "workstations"


def test_several_clauses_and_a_scope_line():
    rule = parse_rule(
        "KB5073724 or KB5073455, KB5074109 present\nfixes CVE-2026-21519; BitLocker on\n"
        "SMB1 off; Defender on; firewall on\non devices tagged laptops"
    )
    assert rule is not None
    assert rule.clauses == (
        KbPresent((5073724, 5073455, 5074109)),
        FixesCve("CVE-2026-21519"),
        Check("bitlocker_on", True, "BitLocker"),
        Check("smb1_enabled", False, "SMBv1"),
        Check("defender_rtp_on", True, "Defender real-time protection"),
        FirewallOn(),
    )
    assert rule.tag == "laptops"


def test_an_unknown_clause_is_named_by_its_position():
    with pytest.raises(RuleError) as raised:
        parse_rule("KB5073724 present; MFA enforced on VPN")
    assert raised.value.message == Msg.UNKNOWN_CLAUSE.format(n=2, text="mfa enforced on vpn")


def test_two_scopes_are_refused():
    with pytest.raises(RuleError, match="names two scopes"):
        parse_rule("KB5073724 present on all devices; bitlocker on on devices tagged laptops")
