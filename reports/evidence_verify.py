#!/usr/bin/env python3
"""Verify a Heeded evidence pack with nothing but a stock Python 3 (3.8 or newer).

Usage, in the folder where the pack was unzipped (or give the folder or the .zip):

    python3 verify.py [PACK] [--anchor SEQ:HASH ...]

Checks, stopping at the first failure:

1. manifest.json lists every file of the pack (but itself) with its SHA-256, and each
   file is there with that hash; no file is missing or added;
2. events.jsonl is the client's hash chain, intact: each event's seq follows the
   previous one, its prev_hash is the previous event's hash (64 zeros for event 1),
   and its hash is SHA-256(prev_hash + canonical JSON of its body) (docs/ledger.md);
3. the last event is the head named in the manifest;
4. every anchor, from the manifest and from --anchor (for example the hash printed on
   a QBR report or in an e-mail), is in the chain.

Prints "ok: ..." and exits 0, or "FAIL: ..." naming the file or event and exits 1.
"""

import hashlib
import json
import sys
import zipfile
from pathlib import Path

GENESIS = "0" * 64


def canonical(value):
    def check(v):
        if isinstance(v, float):
            raise ValueError("floats have no canonical form")
        if isinstance(v, dict):
            v = list(v.values())
        if isinstance(v, list):
            for item in v:
                check(item)

    check(value)
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def first_bad_event(events, anchors=()):
    """None if the chain is intact, else (seq, reason) of its first bad event."""
    wanted = {}
    for seq, digest in anchors:
        wanted.setdefault(seq, set()).add(digest)
    if wanted.get(0, {GENESIS}) != {GENESIS}:
        return 0, "chain differs from anchor"
    prev = GENESIS
    for expected, event in enumerate(events, start=1):
        body = {k: v for k, v in event.items() if k not in ("prev_hash", "hash")}
        if body.get("seq") != expected:
            return expected, "gap" if (body.get("seq") or 0) > expected else "out of order"
        if event.get("prev_hash") != prev:
            return expected, "broken link"
        digest = hashlib.sha256(prev.encode("ascii") + canonical(body)).hexdigest()
        if digest != event.get("hash"):
            return expected, "hash mismatch"
        if wanted.get(expected, {digest}) != {digest}:
            return expected, "chain differs from anchor"
        prev = digest
    last = len(events)
    if any(seq > last for seq in wanted):
        return last + 1, "chain shorter than anchor"
    return None


def read_pack(path):
    """{name: bytes} of every file of the pack (a folder or a .zip)."""
    path = Path(path)
    if path.is_file():
        with zipfile.ZipFile(path) as pack:
            return {name: pack.read(name) for name in pack.namelist() if not name.endswith("/")}
    return {
        str(p.relative_to(path)).replace("\\", "/"): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def verify(files, extra_anchors=()):
    """(True, summary) or (False, reason)."""
    if "manifest.json" not in files:
        return False, "manifest.json is missing"
    manifest = json.loads(files["manifest.json"].decode("utf-8"))
    listed = manifest.get("files", {})
    for name in sorted(set(files) - set(listed) - {"manifest.json"}):
        return False, f"file {name}: not in the manifest (added)"
    for name, digest in sorted(listed.items()):
        if name not in files:
            return False, f"file {name}: missing"
        if hashlib.sha256(files[name]).hexdigest() != digest:
            return False, f"file {name}: SHA-256 differs from the manifest (changed)"
    events = [json.loads(line) for line in files["events.jsonl"].decode("utf-8").splitlines()]
    anchors = [(a["seq"], a["hash"]) for a in manifest.get("anchors", [])]
    anchors += list(extra_anchors)
    bad = first_bad_event(events, anchors)
    if bad is not None:
        seq, reason = bad
        return False, f"event {seq}: {reason}"
    head = manifest.get("head", {})
    last = events[-1] if events else {"seq": 0, "hash": GENESIS}
    if (last["seq"], last["hash"]) != (head.get("seq"), head.get("hash")):
        return False, f"event {last['seq']}: the chain ends before the head of the manifest"
    return True, (
        f"{len(listed)} files, {len(events)} events, {len(anchors)} anchors checked; "
        f"head {head.get('seq')}:{head.get('hash')}"
    )


def parse_anchor(text):
    seq, _, digest = text.rpartition(":")
    seq = seq.rpartition(":")[2]  # accepts SLUG:SEQ:HASH as printed on reports
    if not seq.isdigit() or len(digest) != 64:
        raise SystemExit(f"verify.py: --anchor: expected SEQ:HASH, got {text!r}")
    return int(seq), digest.lower()


def main(argv):
    pack, anchors, args = ".", [], list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--anchor":
            if not args:
                raise SystemExit("verify.py: --anchor needs SEQ:HASH")
            anchors.append(parse_anchor(args.pop(0)))
        else:
            pack = arg
    ok, message = verify(read_pack(pack), anchors)
    print(("ok: " if ok else "FAIL: ") + message)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
