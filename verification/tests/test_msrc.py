"""`heeded msrc import` with MSRC's real January and February 2026 documents."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from verification.models import MsrcDocument, MsrcRemediation
from verification.msrc import Msg, MsrcError, parse_cvrf, satisfying_kbs, superseding_map

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "msrc"
JAN = DATA / "cvrfDocument-2026-Jan.xml"
FEB = DATA / "cvrfDocument-2026-Feb.xml"
needs_data = pytest.mark.skipif(
    not (JAN.exists() and FEB.exists()),
    reason="MSRC documents not found in ../shared/data/msrc (outside the repository)",
)


def load(*paths: Path) -> str:
    out = io.StringIO()
    call_command("msrc", "import", *map(str, paths), stdout=out)
    return out.getvalue()


@needs_data
def test_february_names_cves_products_kbs_supersedence_and_fixed_builds():
    load(FEB)

    # CVE-2026-21519 on Windows 10 22H2 (product 12097): KB5075912, superseding KB5073724.
    fix = MsrcRemediation.objects.get(cve="CVE-2026-21519", product_id="12097", kb=5075912)
    assert (fix.supersedes, fix.fixed_build) == (5073724, "10.0.19045.6937")
    assert MsrcRemediation.objects.filter(description="Release Notes", kb=None).exists()
    assert MsrcDocument.objects.get().document_id == "2026-Feb"


@needs_data
def test_importing_the_same_month_again_changes_nothing():
    load(FEB)
    before = list(MsrcRemediation.objects.order_by("pk").values_list())

    out = load(FEB)

    assert "2026-Feb: unchanged" in out
    assert list(MsrcRemediation.objects.order_by("pk").values_list()) == before


@needs_data
def test_two_months_chain_a_february_update_to_the_january_kb_it_supersedes():
    load(JAN, FEB)

    chains = superseding_map()
    # January's Windows 10 22H2 cumulative update KB5073724 is superseded by February's.
    assert MsrcRemediation.objects.filter(kb=5073724).exists()
    assert 5075912 in chains[5073724]
    assert 5075912 in satisfying_kbs([5073724], chains)


def test_a_document_with_a_doctype_is_refused():
    data = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    with pytest.raises(MsrcError, match="declares a DOCTYPE"):
        parse_cvrf(data)


def test_a_file_that_is_not_cvrf_exits_2_and_stores_nothing(tmp_path):
    path = tmp_path / "feed.xml"
    path.write_bytes(b"<rss><channel/></rss>")

    with pytest.raises(CommandError, match=r"Not a CVRF 1\.1 document") as raised:
        load(path)

    assert raised.value.returncode == 2
    assert not MsrcDocument.objects.exists()


def test_broken_xml_is_named():
    with pytest.raises(MsrcError) as raised:
        parse_cvrf(b"<cvrf:cvrfdoc")
    assert raised.value.message.startswith(Msg.NOT_XML.split("{")[0])
