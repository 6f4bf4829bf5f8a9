"""Sealing a submitted version: a canonical serialisation of everything it says is hashed
(SHA-256) and the hash is signed with the agency's Ed25519 key, so anyone can check later that
the stored values are the ones submitted.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .layout import CellKey, Entry
from .numbers import canonical as canonical_number

SEAL_FORMAT = "baocao-seal/1"


def payload(*, agency: str, regime: str, regime_version: int, regime_hash: str, period: str, version: int,
            submitted_by: str, submitted_at: datetime, entries: Mapping[CellKey, Entry],
            outline: Mapping[str, str]) -> dict:
    values = []
    for (code, key), e in sorted(entries.items()):
        if e.value is None and not e.comment:
            continue
        v = canonical_number(e.value) if isinstance(e.value, Decimal) else e.value
        values.append([code, key, v, bool(e.estimate), e.comment or ""])
    return {
        "format": SEAL_FORMAT, "agency": agency, "regime": regime, "regime_version": regime_version,
        "regime_hash": regime_hash, "period": period, "version": version, "submitted_by": submitted_by,
        "submitted_at": submitted_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "values": values, "outline": {k: v for k, v in sorted(outline.items()) if v},
    }


def canonical(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def digest(data: dict) -> str:
    return hashlib.sha256(canonical(data)).hexdigest()


@dataclass(frozen=True)
class KeyPair:
    public_hex: str
    private_pem: bytes  # PKCS#8, encrypted with the passphrase


def new_key(passphrase: bytes) -> KeyPair:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(passphrase))
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KeyPair(public.hex(), pem)


@lru_cache(maxsize=4096)
def _private_key(private_pem: bytes, passphrase: bytes) -> Ed25519PrivateKey:
    """Decrypting a PKCS#8 key is deliberately slow; each agency's key is decrypted once per process."""
    key = serialization.load_pem_private_key(private_pem, password=passphrase)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 key")
    return key


def sign(private_pem: bytes, passphrase: bytes, hash_hex: str) -> str:
    return _private_key(private_pem, passphrase).sign(bytes.fromhex(hash_hex)).hex()


def verify(public_hex: str, hash_hex: str, signature_hex: str) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_hex)).verify(bytes.fromhex(signature_hex), bytes.fromhex(hash_hex))
        return True
    except (InvalidSignature, ValueError):
        return False
