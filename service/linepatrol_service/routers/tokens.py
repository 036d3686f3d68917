"""Token management for admins (the CLI does the same from a shell)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from sqlalchemy import select

from linepatrol_service.auth import Principal, TokenError, create_token
from linepatrol_service.deps import (
    Admin,
    IdPath,
    SessionDep,
    get_principal,
)
from linepatrol_service.models import Token, utcnow
from linepatrol_service.roles import GRANTS, Role
from linepatrol_service.schemas import Me, TokenCreate, TokenCreated, TokenOut
from linepatrol_service.views import _utc

router = APIRouter(prefix="/tokens", tags=["tokens"])
me_router = APIRouter(tags=["tokens"])


def token_out(t: Token) -> TokenOut:
    return TokenOut(id=t.id, name=t.name, role=t.role, camera_id=t.camera_id,
                    created_at=_utc(t.created_at),
                    revoked_at=_utc(t.revoked_at), last_used_at=_utc(t.last_used_at))


@router.get("")
def list_tokens(session: SessionDep, who: Admin) -> list[TokenOut]:
    return [token_out(t) for t in session.scalars(select(Token).order_by(Token.id))]


@router.post("", status_code=status.HTTP_201_CREATED)
def new_token(body: TokenCreate, session: SessionDep, who: Admin) -> TokenCreated:
    try:
        row, secret = create_token(session, Role(body.role), body.name, body.camera)
    except TokenError as exc:  # the schema admits only an unknown camera
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    session.commit()
    return TokenCreated(**token_out(row).model_dump(), token=secret)


@router.delete("/{token_id}")
def revoke_token(token_id: IdPath, session: SessionDep, who: Admin) -> TokenOut:
    row = session.get(Token, token_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.commit()
    return token_out(row)


@me_router.get("/me")
def whoami(who: Annotated[Principal, Depends(get_principal)]) -> Me:
    """The caller's token: name, role and what that role may do."""
    return Me(id=who.token_id, name=who.name, role=who.role.value,
              permissions=sorted(p.value for p in GRANTS[who.role]))
