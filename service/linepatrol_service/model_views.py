"""Model versions -> API bodies: the registry router and ``linepatrol models show`` share them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from linepatrol.verdicts import Tally
from linepatrol_service import registry
from linepatrol_service.domain import ModelState
from linepatrol_service.models import ModelEvent, ModelVersion
from linepatrol_service.schemas import (
    ModelComparison,
    ModelEventOut,
    ModelTally,
    ModelVersionDetail,
    ModelVersionOut,
    UnreviewedOut,
)
from linepatrol_service.views import _utc


def version_out(v: ModelVersion) -> ModelVersionOut:
    registered_at = _utc(v.registered_at)
    assert registered_at is not None  # a column with a default
    return ModelVersionOut(id=v.id, name=v.name, state=ModelState(v.state), spec=v.spec,
                           sha256=v.sha256, classes=list(v.classes), registered_at=registered_at,
                           registered_by=v.registered_by, promoted_at=_utc(v.promoted_at))


def tally_out(t: Tally) -> ModelTally:
    return ModelTally(photos=t.photos, positives=t.positives, found=t.found, recall=t.recall,
                      rejected=t.rejected, repeated=t.repeated)


def model_detail(session: Session, row: ModelVersion) -> ModelVersionDetail:
    events = session.scalars(select(ModelEvent).where(ModelEvent.model_id == row.id)
                             .order_by(ModelEvent.id))
    comparison = registry.compare(session, row)
    return ModelVersionDetail(
        **version_out(row).model_dump(), card=row.card,
        events=[ModelEventOut(at=_utc(e.at) or e.at, actor=e.actor, from_state=e.from_state,
                              to_state=e.to_state, note=e.note) for e in events],
        comparison=ModelComparison(
            version=tally_out(comparison.version), active=tally_out(comparison.active),
            unreviewed=[UnreviewedOut(class_key=u.class_key, active=u.active, version=u.version)
                        for u in comparison.unreviewed]))
