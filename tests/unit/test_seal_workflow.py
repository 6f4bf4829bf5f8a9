"""Sealing (canonical hash + Ed25519) and what a report's status allows."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.domain import seal
from app.domain.layout import Entry
from app.domain.workflow import NotAllowed, Status, check_can_decide, check_can_reopen, check_can_submit, check_can_write

AT = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)


def payload(entries, **kw):
    base = dict(agency="T01.SCT", regime="BCT-BANLE", regime_version=1, regime_hash="ab" * 32, period="2026-M12",
                version=1, submitted_by="canbo.sct", submitted_at=AT, entries=entries, outline={"I": "Tốt"})
    base.update(kw)
    return seal.payload(**base)


def test_the_hash_depends_on_content_not_on_order():
    a = {("A", ""): Entry(Decimal("1.50")), ("B", ""): Entry(Decimal(2), True, "ước")}
    b = dict(reversed(list(a.items())))
    assert seal.digest(payload(a)) == seal.digest(payload(b))
    assert seal.canonical(payload(a)) == seal.canonical(payload({("A", ""): Entry(Decimal("1.5")), ("B", ""): Entry(Decimal(2), True, "ước")}))
    changed = {**a, ("A", ""): Entry(Decimal("1.51"))}
    assert seal.digest(payload(changed)) != seal.digest(payload(a))
    assert seal.digest(payload(a, outline={"I": "Khác"})) != seal.digest(payload(a))
    assert seal.digest(payload(a, agency="T02.SCT")) != seal.digest(payload(a))
    assert "ước".encode() in seal.canonical(payload(a))  # Vietnamese kept as UTF-8, not escaped


def test_sign_and_verify():
    key = seal.new_key(b"passphrase")
    digest = seal.digest(payload({("A", ""): Entry(Decimal(1))}))
    signature = seal.sign(key.private_pem, b"passphrase", digest)
    assert seal.verify(key.public_hex, digest, signature)
    other = seal.digest(payload({("A", ""): Entry(Decimal(2))}))
    assert not seal.verify(key.public_hex, other, signature)
    assert not seal.verify(seal.new_key(b"x").public_hex, digest, signature)
    assert not seal.verify(key.public_hex, digest, "00" * 64)
    assert not seal.verify(key.public_hex, digest, "not hex")
    with pytest.raises(ValueError):
        seal.sign(key.private_pem, b"wrong passphrase", digest)


def test_what_each_status_allows():
    lock = AT + timedelta(days=30)
    check_can_write(Status.NOT_STARTED, now=AT, lock=lock, reopened=False)
    check_can_write(Status.RETURNED, now=AT, lock=lock, reopened=False)
    with pytest.raises(NotAllowed, match="chờ duyệt"):
        check_can_write(Status.SUBMITTED, now=AT, lock=lock, reopened=False)
    with pytest.raises(NotAllowed, match="đã được duyệt"):
        check_can_write(Status.APPROVED, now=AT, lock=lock, reopened=False)
    check_can_write(Status.APPROVED, now=AT, lock=lock, reopened=True)
    with pytest.raises(NotAllowed, match="đã khóa"):
        check_can_write(Status.DRAFT, now=lock + timedelta(seconds=1), lock=lock, reopened=False)
    check_can_write(Status.DRAFT, now=lock + timedelta(days=1), lock=lock, reopened=True)
    check_can_write(Status.DRAFT, now=lock + timedelta(days=999), lock=None, reopened=False)
    with pytest.raises(NotAllowed, match="bị trả lại"):
        check_can_submit(Status.RETURNED, now=AT, lock=lock, reopened=False)
    with pytest.raises(NotAllowed):
        check_can_submit(Status.NOT_STARTED, now=AT, lock=lock, reopened=False)
    check_can_decide(Status.SUBMITTED)
    for status in (Status.DRAFT, Status.APPROVED, Status.RETURNED):
        with pytest.raises(NotAllowed):
            check_can_decide(status)
    check_can_reopen(Status.APPROVED, now=AT, lock=lock)
    with pytest.raises(NotAllowed, match="chưa khóa"):
        check_can_reopen(Status.DRAFT, now=AT, lock=lock)
    check_can_reopen(Status.DRAFT, now=lock + timedelta(days=1), lock=lock)
