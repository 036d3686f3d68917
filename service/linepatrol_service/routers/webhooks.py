"""The outbound webhook's delivery log (admins): what was sent, how often, and how it went."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from linepatrol_service.deps import Admin, Offset, SessionDep
from linepatrol_service.domain import DeliveryStatus
from linepatrol_service.models import WebhookDelivery
from linepatrol_service.schemas import DeliveryOut, Page

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.get("/deliveries")
def list_deliveries(
    session: SessionDep,
    who: Admin,
    status_: Annotated[list[DeliveryStatus] | None, Query(alias="status")] = None,
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[DeliveryOut]:
    """Newest first."""
    return deliveries(session, tuple(status_ or ()), offset, limit)


def deliveries(session: SessionDep, statuses: tuple[DeliveryStatus, ...], offset: int,
               limit: int) -> Page[DeliveryOut]:
    query = select(WebhookDelivery)
    if statuses:
        query = query.where(WebhookDelivery.status.in_(statuses))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(WebhookDelivery.id.desc()).offset(offset).limit(limit))
    return Page[DeliveryOut](
        items=[DeliveryOut.model_validate(r, from_attributes=True) for r in rows],
        total=int(total), offset=offset, limit=limit)
