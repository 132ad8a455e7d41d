"""The JSON limits: depth counted without recursion, finite numbers, the bigint range."""

from __future__ import annotations

import pytest

from lib.jsonlimits import (
    BIGINT_MAX,
    BIGINT_MIN,
    JSONLimitError,
    fits_bigint,
    loads_limited,
    nesting_depth_exceeds,
)


def test_it_finds_where_the_nesting_first_goes_too_deep() -> None:
    assert nesting_depth_exceeds(b"[[[1]]]", 3) is None
    assert nesting_depth_exceeds(b'{"a": [[1]]}', 2) == 7


def test_brackets_inside_strings_and_escaped_quotes_do_not_count() -> None:
    assert nesting_depth_exceeds(b'["[[[[", "\\"[[[[", {"k]": "{{"}]', 2) is None


def test_it_refuses_input_nested_deeper_than_json_loads_could_recurse() -> None:
    with pytest.raises(JSONLimitError) as refused:
        loads_limited(b"[" * 100_000 + b"]" * 100_000, max_depth=32)

    assert refused.value.code == "too_deep"
    assert refused.value.message == "JSON nested deeper than 32 levels (at byte 32)."


@pytest.mark.parametrize("text", [b"1e400", b"[-1e400]", b"NaN", b'{"a": Infinity}'])
def test_it_refuses_numbers_that_are_not_finite(text: bytes) -> None:
    with pytest.raises(JSONLimitError) as refused:
        loads_limited(text, max_depth=8)

    assert refused.value.code == "invalid_number"


def test_it_parses_what_is_within_the_limits() -> None:
    assert loads_limited(b'{"a": [1, 2.5, "x"]}', max_depth=2) == {"a": [1, 2.5, "x"]}


def test_bad_json_is_still_a_value_error() -> None:
    with pytest.raises(ValueError, match="Expecting"):
        loads_limited(b'{"a": }', max_depth=8)


def test_the_bigint_range_is_a_signed_64_bit_integer() -> None:
    assert fits_bigint(BIGINT_MAX) and fits_bigint(BIGINT_MIN)
    assert not fits_bigint(BIGINT_MAX + 1) and not fits_bigint(BIGINT_MIN - 1)
