"""Bearer tokens and roles.

A token is shown once when created and stored only as its SHA-256 (tokens are 256-bit random
strings, so a plain hash is enough: there is nothing to brute-force that a salt would protect).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from linepatrol_service.models import Camera, Token, utcnow
from linepatrol_service.roles import GRANTS, Permission, Role

TOKEN_PREFIX = "lp_"


@dataclass(frozen=True)
class Principal:
    token_id: int
    name: str
    role: Role
    camera_id: str | None = None  # a device token's camera

    def may_push_to(self, camera_id: str) -> bool:
        """A device token pushes to its own camera only; an admin to any."""
        if self.role is Role.DEVICE:
            return self.camera_id == camera_id
        return self.can(Permission.CAMERA_PUSH)

    def can(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]

    @property
    def sees_only_own_flights(self) -> bool:
        """Uploaders read the flights they created; reviewers and admins read all."""
        return self.role is Role.UPLOADER


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenError(ValueError):
    """A token that may not be made: a device token without its camera, or the reverse."""


def create_token(session: Session, role: Role, name: str,
                 camera_id: str | None = None) -> tuple[Token, str]:
    """A new token row and the secret, which is not stored and cannot be shown again. A device
    token is bound to one registered camera; no other role is."""
    if role is Role.DEVICE:
        if not camera_id:
            raise TokenError("a device token needs its camera (--camera / \"camera\")")
        if session.get(Camera, camera_id) is None:
            raise TokenError(f"no camera {camera_id!r}: register it first")
    elif camera_id is not None:
        raise TokenError(f"only a device token has a camera, not a {role.value} token")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = Token(name=name, role=role.value, token_hash=hash_token(secret), camera_id=camera_id)
    session.add(row)
    session.flush()
    return row, secret


def authenticate(session: Session, secret: str) -> Principal | None:
    row = session.scalar(select(Token).where(Token.token_hash == hash_token(secret)))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    last = row.last_used_at
    if last is None or now - _aware(last) > dt.timedelta(minutes=1):  # don't write every call
        row.last_used_at = now
    return Principal(row.id, row.name, Role(row.role), row.camera_id)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
