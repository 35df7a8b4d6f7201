"""API keys: ``prov_<random>`` secrets, stored as SHA-256 hashes, checked in constant time.

Roles
-----
- ``admin``: creates rights holders and issues/revokes keys; may also act on any work or scan.
- ``rights_holder``: bound to one holder; registers, lists, changes and deletes only its own works.
- ``reviewer``: submits scans and reads its own scans and reports.
- ``optout_client``: opt-out checks only.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from reference_db.models import ApiKey, RightsHolder
from reference_db.store import Store

ROLES = ("admin", "rights_holder", "reviewer", "optout_client")
KEY_PREFIX = "prov_"
_LOOKUP_CHARS = 8  # characters of the random part stored in clear to find the row


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id and role, and its holder for ``rights_holder`` keys."""

    key_id: int
    role: str
    holder_id: int | None = None
    holder_name: str | None = None
    name: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class IssuedKey:
    id: int
    secret: str  # shown once, never stored
    role: str
    holder_id: int | None
    holder_name: str | None
    name: str
    created_at: datetime


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def generate_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def lookup_prefix(secret: str) -> str:
    return secret[len(KEY_PREFIX) : len(KEY_PREFIX) + _LOOKUP_CHARS]


def issue_key(session: Session, role: str, holder: RightsHolder | None = None, name: str = "") -> IssuedKey:
    """Create a key in ``session``'s transaction. ``rights_holder`` keys need a holder, others must not have one."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; known: {', '.join(ROLES)}")
    if role == "rights_holder" and holder is None:
        raise ValueError("a rights_holder key needs a holder")
    if role != "rights_holder" and holder is not None:
        raise ValueError(f"a {role} key is not bound to a holder")
    secret = generate_secret()
    row = ApiKey(
        prefix=lookup_prefix(secret),
        key_hash=hash_key(secret),
        role=role,
        holder_id=holder.id if holder else None,
        name=name.strip()[:200],
    )
    session.add(row)
    session.flush()
    return IssuedKey(row.id, secret, role, row.holder_id, holder.name if holder else None, row.name, row.created_at)


def authenticate(store: Store, secret: str | None) -> Principal | None:
    """The principal of a valid, unrevoked key, or None. Compares hashes in constant time."""
    if not secret or not secret.startswith(KEY_PREFIX) or len(secret) > 200:
        return None
    digest = hash_key(secret)
    with store.session() as session:
        rows = session.execute(
            select(ApiKey, RightsHolder.name)
            .outerjoin(RightsHolder, ApiKey.holder_id == RightsHolder.id)
            .where(ApiKey.prefix == lookup_prefix(secret))
        ).all()
    found: Principal | None = None
    for key, holder_name in rows:  # compare every candidate: time does not depend on which one matches
        if hmac.compare_digest(key.key_hash, digest) and key.revoked_at is None:
            found = Principal(key.id, key.role, key.holder_id, holder_name, key.name)
    return found


def revoke_key(session: Session, key_id: int) -> ApiKey | None:
    key = session.get(ApiKey, key_id)
    if key is not None and key.revoked_at is None:
        key.revoked_at = datetime.now(timezone.utc)
    return key
