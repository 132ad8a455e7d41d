"""Canonical JSON refuses what has no portable byte form."""

from __future__ import annotations

import pytest

from lib.canonical import NotCanonical, canonical_json


def test_a_lone_surrogate_is_refused_as_not_canonical() -> None:
    with pytest.raises(NotCanonical, match=r"\$.note: text holds an unpaired surrogate"):
        canonical_json({"note": "broken \ud800 text"})


def test_keys_are_sorted_and_non_ascii_is_kept_as_utf8() -> None:
    assert canonical_json({"b": "città", "a": [1, None, True]}) == (
        '{"a":[1,null,true],"b":"città"}'.encode()
    )
