"""Microsoft's monthly security-update documents (CVRF 1.1 XML from MSRC): CVEs, the
products they affect, and each product's vendor fix — a KB number (written without
"KB"), or free text such as "Release Notes" — with the KB it supersedes and the build
that has it. Importing several months builds the supersedence chains the rules use:
a later cumulative update that supersedes the required KB satisfies it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction

from verification.models import MsrcDocument, MsrcProduct, MsrcRemediation

CVRF = "{http://www.icasi.org/CVRF/schema/cvrf/1.1}"
VULN = "{http://www.icasi.org/CVRF/schema/vuln/1.1}"
PROD = "{http://www.icasi.org/CVRF/schema/prod/1.1}"
_DIGITS = re.compile(r"^\d{6,8}$")


class Msg:
    DTD = "The document declares a DOCTYPE or entities; MSRC's never do. Refused."
    NOT_XML = "Not well-formed XML: {error}"
    NOT_CVRF = "Not a CVRF 1.1 document (root element {root})."
    NO_ID = "The document has no DocumentTracking/Identification/ID."


class MsrcError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclasses.dataclass(frozen=True)
class Fix:
    cve: str
    product_id: str
    description: str
    kb: int | None
    supersedes: int | None
    fixed_build: str


@dataclasses.dataclass
class CvrfDocument:
    document_id: str
    title: str
    current_release: str
    products: dict[str, str]
    fixes: list[Fix]


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def parse_cvrf(data: bytes) -> CvrfDocument:
    """The CVEs, products and vendor fixes of one CVRF 1.1 document."""
    # ElementTree expands internal entities; a vendor file never needs them.
    head = data[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper():
        raise MsrcError(Msg.DTD)
    try:
        root = ET.fromstring(data)  # noqa: S314 - see the DTD check above
    except ET.ParseError as exc:
        raise MsrcError(Msg.NOT_XML.format(error=exc)) from None
    if root.tag != f"{CVRF}cvrfdoc":
        raise MsrcError(Msg.NOT_CVRF.format(root=root.tag))
    document_id = _text(root.find(f"{CVRF}DocumentTracking/{CVRF}Identification/{CVRF}ID"))
    if not document_id:
        raise MsrcError(Msg.NO_ID)
    products = {
        p.get("ProductID", ""): _text(p)
        for p in root.iter(f"{PROD}FullProductName")
        if p.get("ProductID")
    }
    fixes: dict[tuple[str, str, str], Fix] = {}
    for vuln in root.iter(f"{VULN}Vulnerability"):
        cve = _text(vuln.find(f"{VULN}CVE"))
        if not cve:
            continue
        for rem in vuln.iter(f"{VULN}Remediation"):
            if rem.get("Type") != "Vendor Fix":
                continue
            description = _text(rem.find(f"{VULN}Description"))[:255]
            supersedes = _text(rem.find(f"{VULN}Supercedence"))
            for product in rem.iter(f"{VULN}ProductID"):
                key = (cve, _text(product), description)
                # The same fix listed twice (once per URL) is one fix.
                fixes.setdefault(
                    key,
                    Fix(
                        cve=cve,
                        product_id=_text(product),
                        description=description,
                        kb=int(description) if _DIGITS.match(description) else None,
                        supersedes=int(supersedes) if _DIGITS.match(supersedes) else None,
                        fixed_build=_text(rem.find(f"{VULN}FixedBuild"))[:64],
                    ),
                )
    return CvrfDocument(
        document_id=document_id[:20],
        title=_text(root.find(f"{CVRF}DocumentTitle"))[:255],
        current_release=_text(root.find(f"{CVRF}DocumentTracking/{CVRF}CurrentReleaseDate")),
        products=products,
        fixes=list(fixes.values()),
    )


@dataclasses.dataclass(frozen=True)
class ImportResult:
    document_id: str
    cves: int
    products: int
    fixes: int
    unchanged: bool


def msrc_import(*, data: bytes, now: dt.datetime) -> ImportResult:
    """Store one document. The same revision again changes nothing; a new revision of
    a month updates its fixes in place (keyed by CVE, product and fix)."""
    doc = parse_cvrf(data)
    existing = MsrcDocument.objects.filter(document_id=doc.document_id).first()
    counts = (len({f.cve for f in doc.fixes}), len(doc.products), len(doc.fixes))
    if existing is not None and existing.current_release == doc.current_release:
        return ImportResult(doc.document_id, *counts, unchanged=True)
    with transaction.atomic():
        record, _ = MsrcDocument.objects.update_or_create(
            document_id=doc.document_id,
            defaults={
                "title": doc.title,
                "current_release": doc.current_release,
                "imported_at": now,
            },
        )
        MsrcProduct.objects.bulk_create(
            [MsrcProduct(product_id=pid, name=name[:255]) for pid, name in doc.products.items()],
            update_conflicts=True,
            unique_fields=["product_id"],
            update_fields=["name"],
            batch_size=500,
        )
        MsrcRemediation.objects.bulk_create(
            [
                MsrcRemediation(
                    document=record,
                    cve=f.cve,
                    product_id=f.product_id,
                    description=f.description,
                    kb=f.kb,
                    supersedes=f.supersedes,
                    fixed_build=f.fixed_build,
                )
                for f in doc.fixes
            ],
            update_conflicts=True,
            unique_fields=["cve", "product_id", "description"],
            update_fields=["document", "kb", "supersedes", "fixed_build"],
            batch_size=500,
        )
    return ImportResult(doc.document_id, *counts, unchanged=False)


def superseding_map() -> dict[int, set[int]]:
    """{kb: every later KB that supersedes it, directly or through a chain}."""
    direct: dict[int, set[int]] = defaultdict(set)
    pairs = (
        MsrcRemediation.objects.exclude(kb=None)
        .exclude(supersedes=None)
        .values_list("supersedes", "kb")
        .distinct()
    )
    for older, newer in pairs:
        if older is not None and newer is not None and older != newer:
            direct[older].add(newer)
    closed: dict[int, set[int]] = {}
    for kb in direct:
        seen: set[int] = set()
        stack = list(direct[kb])
        while stack:
            nxt = stack.pop()
            if nxt not in seen:
                seen.add(nxt)
                stack.extend(direct.get(nxt, ()))
        closed[kb] = seen
    return closed


def satisfying_kbs(required: Iterable[int], chains: dict[int, set[int]]) -> set[int]:
    """The required KBs and every KB that supersedes one of them."""
    out: set[int] = set()
    for kb in required:
        out.add(kb)
        out |= chains.get(kb, set())
    return out


def fixes_for_cve(cve: str) -> list[MsrcRemediation]:
    return list(MsrcRemediation.objects.filter(cve=cve.upper()).exclude(kb=None))
