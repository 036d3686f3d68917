"""FastAPI dependencies: the services of this app, a database session, the caller's token."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import StringConstraints
from sqlalchemy.orm import Session

from linepatrol_service.auth import Principal, authenticate
from linepatrol_service.roles import Permission
from linepatrol_service.services import Services
from linepatrol_service.validation import TEXT_PATTERN

_bearer = HTTPBearer(auto_error=False, description="A token from `linepatrol token create`")


async def get_services(request: Request) -> Services:
    """Async (no thread hop): the health check depends on it and must not queue for the thread
    pool behind busy requests."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with services.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_principal(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    with services.sessions.begin() as session:
        principal = authenticate(session, credentials.credentials)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "invalid or revoked token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


def require(permission: Permission) -> Callable[[Principal], Principal]:
    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.can(permission):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"the {principal.role.value} role may not do this (needs {permission.value})",
            )
        return principal

    return check


FlightWriter = Annotated[Principal, Depends(require(Permission.FLIGHTS_WRITE))]
FlightReader = Annotated[Principal, Depends(require(Permission.FLIGHTS_READ))]
DefectReader = Annotated[Principal, Depends(require(Permission.DEFECTS_READ))]
DefectWriter = Annotated[Principal, Depends(require(Permission.DEFECTS_WRITE))]
Admin = Annotated[Principal, Depends(require(Permission.ADMIN))]


# Row ids are 32-bit integers on PostgreSQL: larger ones in a URL are a 422, not a 500.
MAX_ID = 2**31 - 1
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
# A text filter in a query string (InputGuard enforces the same for every request).
FilterText = Annotated[str, StringConstraints(max_length=200, pattern=TEXT_PATTERN)]
TextFilter = Annotated[FilterText | None, Query()]
