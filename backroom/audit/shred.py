"""Crypto-shredding of personal data in the audit trail (docs/audit.md, "Erasure").

Audit events are immutable and hash-chained, so an erased customer's name cannot be removed
from them. Instead the personal fields of an event about a data subject (a customer, or a
storefront order not yet joined to one) are stored encrypted with that subject's own data key
(AES-256-GCM, a random 96-bit nonce per value, the subject and field name as associated data),
and erasure destroys the key: the ciphertext stays, hashed into the chain as stored, and can
never be read again. Readers decrypt with the key while it exists and show ERASED after.

Only the top-level fields named in PERSONAL are encrypted, and only when the event names a
subject: a product's `name` stays readable; a customer's `name` does not survive erasure."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backroom.audit.models import SubjectKey
from backroom.db.base import utcnow

# What a reader sees of a personal field whose key was destroyed.
ERASED = "(erased)"
MARK = "$shred"  # an encrypted value: {"$shred": subject, "ct": base64(nonce + ciphertext)}

# Fields that hold a person's data wherever they occur in an event about a data subject.
PERSONAL = frozenset(
    {
        "name",
        "name_norm",
        "email",
        "email_norm",
        "phone",
        "phone_national",
        "notes",
        "tags",
        "title",
        "subject",
        "body",
        "description",
        "role",
        "line1",
        "line2",
        "city",
        "region",
        "postal_code",
        "ship_name",
        "ship_line1",
        "ship_city",
        "ship_postcode",
        "billing_postcode",
        "to_address",
        "proof",
    }
)
_CACHE = "backroom.audit.subject_keys"  # session.info: subject -> key (None: destroyed)


def subject_of(entity_type: str, entity_id: Any, before: dict | None, after: dict | None) -> str | None:
    """Whose personal data an event carries: the customer it is about (the record itself, or
    its `customer_id`), else the storefront order it is about; None for anything else."""
    if entity_type == "customer":
        return f"customer:{entity_id}"
    for data in (after, before):
        cid = (data or {}).get("customer_id")
        if isinstance(cid, int) and not isinstance(cid, bool):
            return f"customer:{cid}"
    if entity_type == "order":
        return f"order:{entity_id}"
    return None


def _cache(session: AsyncSession) -> dict[str, bytes | None]:
    return session.info.setdefault(_CACHE, {})


async def _key_for_writing(session: AsyncSession, subject: str) -> bytes | None:
    """The subject's key, made on first use; None once destroyed. Concurrent first uses agree
    on one key (insert-if-absent, then read what won). One read when the key exists."""
    cache = _cache(session)
    if subject in cache:
        return cache[subject]
    row = (await session.execute(select(SubjectKey.key).where(SubjectKey.subject == subject))).first()
    if row is None:
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            insert(SubjectKey)
            .values(subject=subject, key=AESGCM.generate_key(bit_length=256), created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["subject"])
        )
        row = (await session.execute(select(SubjectKey.key).where(SubjectKey.subject == subject))).first()
    cache[subject] = row[0]
    return row[0]


def _aad(subject: str, field: str) -> bytes:
    return f"{subject}|{field}".encode()


def _encrypt(key: bytes, subject: str, field: str, value: Any) -> dict:
    nonce = os.urandom(12)
    plain = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    ct = AESGCM(key).encrypt(nonce, plain, _aad(subject, field))
    return {MARK: subject, "ct": base64.b64encode(nonce + ct).decode()}


async def seal_personal(
    session: AsyncSession, subject: str | None, payload: dict[str, Any] | None
) -> dict[str, Any] | None:
    """`payload` with its personal fields encrypted under the subject's key (ERASED in their
    place once the key is destroyed: nothing new is stored readable about an erased person)."""
    if not subject or not payload or not any(k in PERSONAL and v is not None for k, v in payload.items()):
        return payload
    key = await _key_for_writing(session, subject)
    return {
        k: (v if k not in PERSONAL or v is None else ERASED if key is None else _encrypt(key, subject, k, v))
        for k, v in payload.items()
    }


def _sealed_subjects(payloads: Iterable[dict | None]) -> set[str]:
    return {
        v[MARK]
        for p in payloads
        if p
        for v in p.values()
        if isinstance(v, dict) and isinstance(v.get(MARK), str)
    }


async def keys_for(session: AsyncSession, events: Iterable[Any]) -> dict[str, bytes | None]:
    """The keys of the subjects whose data these events hold encrypted (None: destroyed).
    One read. Read-only."""
    events = list(events)
    wanted = _sealed_subjects(p for e in events for p in (e.before, e.after))
    if not wanted:
        return {}
    rows = await session.execute(
        select(SubjectKey.subject, SubjectKey.key).where(SubjectKey.subject.in_(wanted))
    )
    found = dict(rows.all())
    return {s: found.get(s) for s in wanted}


def _decrypt(keys: dict[str, bytes | None], field: str, value: dict) -> Any:
    subject = value[MARK]
    key = keys.get(subject)
    if key is None:
        return ERASED
    try:
        raw = base64.b64decode(value["ct"])
        return json.loads(AESGCM(key).decrypt(raw[:12], raw[12:], _aad(subject, field)))
    except (InvalidTag, ValueError, KeyError, TypeError):
        return ERASED  # not this key's: nothing readable to show


def open_personal(payload: dict | None, keys: dict[str, bytes | None]) -> dict | None:
    """`payload` with its encrypted fields decrypted (ERASED where the key is gone). Pure."""
    if not payload:
        return payload
    return {
        k: _decrypt(keys, k, v) if isinstance(v, dict) and isinstance(v.get(MARK), str) else v
        for k, v in payload.items()
    }


async def destroy(session: AsyncSession, subjects: Iterable[str]) -> list[str]:
    """Destroy the keys of these subjects (made destroyed if they had none yet, so no key is
    ever made for them later). Returns the subjects whose key this call destroyed. Idempotent."""
    subjects = sorted(set(subjects))
    if not subjects:
        return []
    now = utcnow()
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(SubjectKey)
        .values([{"subject": s, "key": None, "created_at": now, "destroyed_at": now} for s in subjects])
        .on_conflict_do_nothing(index_elements=["subject"])
    )
    destroyed = (
        (
            await session.execute(
                update(SubjectKey)
                .where(SubjectKey.subject.in_(subjects), SubjectKey.key.is_not(None))
                .values(key=None, destroyed_at=now)
                .returning(SubjectKey.subject)
            )
        )
        .scalars()
        .all()
    )
    cache = _cache(session)
    for s in subjects:
        cache[s] = None
    return sorted(destroyed)
