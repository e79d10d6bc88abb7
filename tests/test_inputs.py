"""Every input shape explain/send/replay read, and damaged ones reported with where."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest

from forwarder.errors import InputError
from forwarder.inputs import Item, iter_items
from tests.events import make_event


def _values(data: bytes) -> list[object]:
    return [i.value for i in iter_items(data, "src") if isinstance(i, Item)]


def _errors(data: bytes) -> list[InputError]:
    return [i for i in iter_items(data, "src") if isinstance(i, InputError)]


EVENTS = [make_event(event_id=f"e{i}") for i in range(3)]


def test_single_array_lines_and_concatenated() -> None:
    single = json.dumps(EVENTS[0], indent=2).encode()
    array = json.dumps(EVENTS).encode()
    lines = "\n".join(json.dumps(e) for e in EVENTS).encode() + b"\n"
    firehose = "".join(json.dumps(e, separators=(",", ":")) for e in EVENTS).encode()
    assert _values(single) == EVENTS[:1]
    for data in (array, lines, firehose, gzip.compress(firehose), gzip.compress(lines)):
        assert _values(data) == EVENTS
        assert not _errors(data)


def test_items_carry_index_and_offset() -> None:
    firehose = "".join(json.dumps(e) for e in EVENTS)
    items = [i for i in iter_items(firehose.encode(), "obj") if isinstance(i, Item)]
    assert [i.index for i in items] == [1, 2, 3]
    assert items[1].offset == len(json.dumps(EVENTS[0]))
    assert firehose[items[2].offset :].startswith('{"version"') and items[2].value == EVENTS[2]
    assert items[2].where == f"obj item 3 (offset {items[2].offset})"


def test_a_firehose_object_is_parsed_one_document_at_a_time() -> None:
    """Documents are parsed as they are taken, not all before the first: a Firehose object holds
    thousands, and parsed whole they would all be in memory at once."""
    from forwarder.fastcodec import FastCodec

    parsed: list[int] = []

    class Counting(FastCodec):
        def read(self, data: Any) -> Any:
            parsed.append(len(data))
            return super().read(data)

    firehose = "".join(json.dumps(e, separators=(",", ":")) for e in EVENTS).encode()
    items = iter_items(gzip.compress(firehose), "obj", Counting())
    first = next(items)
    # one attempt at the whole object as a single document (an archive document's shape), then one
    # parse per document taken
    assert isinstance(first, Item) and first.value == EVENTS[0] and parsed[0] == len(firehose)
    assert len(parsed) == 2
    assert [i.value for i in items if isinstance(i, Item)] == EVENTS[1:] and len(parsed) == 4


def test_broken_record_is_reported_and_the_rest_still_read() -> None:
    good = [json.dumps(e) for e in EVENTS]
    data = (good[0] + '{"id": "broken", "detail": {' + good[1] + good[2]).encode()
    errors = _errors(data)
    assert len(errors) == 1 and errors[0].offset is not None and errors[0].offset > len(good[0])
    assert "invalid JSON" in str(errors[0])
    # Reading resumes at the next whole document, even glued to the broken one with no "}" between.
    assert [v["id"] for v in _values(data)] == ["e0", "e1", "e2"]


def test_truncated_gzip_keeps_what_was_recovered_and_says_so() -> None:
    lines = "\n".join(json.dumps(e) for e in EVENTS * 50).encode()
    packed = gzip.compress(lines)
    truncated = packed[: len(packed) * 2 // 3]
    items = list(iter_items(truncated, "s3://b/k.gz"))
    recovered = [i for i in items if isinstance(i, Item)]
    errors = [i for i in items if isinstance(i, InputError)]
    assert 0 < len(recovered) < 150
    assert len(errors) == 1 and "truncated gzip" in str(errors[0]) and "s3://b/k.gz" in str(errors[0])


def test_empty_whitespace_and_non_utf8() -> None:
    assert "empty input" in str(_errors(b"")[0])
    assert "empty input" in str(_errors(b" \n\t ")[0])
    assert "not UTF-8" in str(_errors(b"\xff\xfe{}")[0])


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    errors = _errors(b"[" * 100_000 + b"]" * 100_000)
    assert errors and "deep" in str(errors[0])


def test_utf8_bom_is_accepted() -> None:
    assert _values(b"\xef\xbb\xbf" + json.dumps(EVENTS[0]).encode()) == EVENTS[:1]


@pytest.mark.parametrize(
    "literal",
    ["9999999999999999999", "18446744073709551615", "18446744073709551616", "123456789012345678901234",
     "-9223372036854775808", "-9223372036854775809", "-99999999999999999999", "1e400"],
)  # fmt: skip
def test_integers_at_the_64_bit_edges_read_exactly(literal: str) -> None:
    """Integers beyond 64 bits read exactly, with either codec (a JSON library that reads them as
    floats would change an exit code)."""
    from forwarder.codec import STDLIB
    from forwarder.fastcodec import FastCodec

    for shape in ('{{"exitCode": {}}}', '{{"a":[1, {}]}}', '{{"a":-1}}{{"b": {}}}', '{{"s":"ecs-svc/{}", "n": 1}}'):
        text = shape.format(literal)
        expected = [json.loads(part) for part in text.replace("}{", "}\n{").splitlines()]
        for codec in (STDLIB, FastCodec()):
            values = [i.value for i in iter_items(text.encode(), "t", codec) if isinstance(i, Item)]
            assert values == expected and repr(values) == repr(expected), (text, codec)


@pytest.mark.parametrize("size", [0, 1, 65_535, 65_536, 65_537, 3 * 65_536, 1_000_003])
def test_both_codecs_inflate_alike(size: int) -> None:
    """The CLI's codec inflates a block at a time (ISA-L): whatever the size (an exact multiple
    of its block too), several members, or damage, it gives what zlib gives, and says the same."""
    import random

    from forwarder.codec import STDLIB
    from forwarder.fastcodec import FastCodec

    text = random.Random(size).randbytes(size // 2).hex().encode()[:size]
    whole = gzip.compress(text)
    for data in (whole, whole + gzip.compress(b"second member"), whole[:-9], whole + b"junk", whole[: len(whole) // 2]):
        assert FastCodec().gunzip(data) == STDLIB.gunzip(data)
    assert FastCodec().gunzip(whole) == (text, None)
