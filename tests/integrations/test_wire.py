"""Dates on the wire and the field checksum."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone

import pytest

from integrations.wire import (
    VN_TZ,
    checksum_matches,
    fields_checksum,
    format_vn,
    parse_vn,
    with_checksum,
)


def test_an_utc_instant_travels_as_vietnam_wall_clock_time():
    assert format_vn(datetime(2025, 12, 31, 17, 5, 9, tzinfo=UTC)) == "20260101000509"


def test_any_offset_formats_to_the_same_string():
    instant = datetime(2025, 3, 3, 8, 0, tzinfo=VN_TZ)
    assert format_vn(instant.astimezone(timezone(timedelta(hours=-5)))) == "20250303080000"


@pytest.mark.parametrize("instant", [
    datetime(2025, 1, 29, 0, 0, 0, tzinfo=UTC), datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),
])
def test_format_then_parse_gives_back_the_same_instant(instant):
    parsed = parse_vn(format_vn(instant))
    assert parsed == instant
    assert parsed.utcoffset() == timedelta(hours=7)


def test_empty_dates_travel_as_empty_strings():
    assert format_vn(None) == "" and parse_vn("") is None and parse_vn(None) is None


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        format_vn(datetime(2025, 3, 3, 8, 0))  # noqa: DTZ001


@pytest.mark.parametrize(
    "value", ["2025-03-03", "202503030800", "20251303080000", "2025030308000x"]
)
def test_malformed_dates_are_refused(value):
    with pytest.raises(ValueError):
        parse_vn(value)


def test_checksum_is_hmac_sha256_over_sorted_key_value_pairs():
    fields = {"SoTien": 150000, "MaHoSo": "SCT-1", "TaiKhoan": {"b": 1, "a": "x"}}
    expected = hmac.new(
        b"s3cret", b'MaHoSo=SCT-1&SoTien=150000&TaiKhoan={"a":"x","b":1}', hashlib.sha256
    ).hexdigest()

    assert fields_checksum(fields, "s3cret") == expected
    assert with_checksum(fields, "s3cret")["checksum"] == expected


def test_checksum_verification_refuses_any_change():
    signed = with_checksum({"MaHoSo": "SCT-1", "SoTien": 150000}, "s3cret")

    assert checksum_matches(signed, "s3cret")
    assert checksum_matches({**signed, "checksum": signed["checksum"].upper()}, "s3cret")
    assert not checksum_matches({**signed, "SoTien": 1}, "s3cret")
    assert not checksum_matches(signed, "other")
    assert not checksum_matches({"MaHoSo": "SCT-1", "SoTien": 150000}, "s3cret")
    assert not checksum_matches({**signed, "checksum": 12}, "s3cret")
