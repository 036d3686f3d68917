"""Photos as evidence: the original, an annotated copy with the boxes, or a thumbnail."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from linepatrol.images import ImageError
from linepatrol_service import evidence, queries, review
from linepatrol_service.deps import (
    DefectWriter,
    FlightReader,
    IdPath,
    ServicesDep,
    SessionDep,
)
from linepatrol_service.models import utcnow
from linepatrol_service.schemas import AnnotationCreate, DefectDetail, ImageOut
from linepatrol_service.views import image_for, image_out

router = APIRouter(prefix="/images", tags=["images"])
_MEDIA = {"JPEG": "image/jpeg", "PNG": "image/png", "TIFF": "image/tiff"}


@router.get(
    "/{image_id}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/tiff": {}},
                     "description": "The photo or a derived JPEG"}},
)
async def get_image(
    image_id: IdPath,
    services: ServicesDep,
    session: SessionDep,
    who: FlightReader,
    variant: Literal["original", "annotated", "thumbnail"] = "original",
    size: Annotated[int | None, Query(ge=16, le=4096)] = None,
) -> Response:
    image = image_for(session, who, image_id)
    path = services.store.path_for(image.sha256)
    if variant == "original":
        return FileResponse(path, media_type=_MEDIA.get(image.format, "application/octet-stream"),
                            filename=image.filename.rsplit("/", 1)[-1])
    cache = evidence.DerivedCache(services.settings.data_dir / "derived")
    boxes = image.detections or []
    try:
        if variant == "thumbnail":
            side = size or services.settings.thumbnail_px
            data = await run_in_threadpool(cache.get, image.sha256, "thumb", side,
                                           lambda: evidence.thumbnail(path, side))
        else:
            side = size or 2048
            data = await run_in_threadpool(cache.get, image.sha256, "annotated",
                                           [side, boxes, evidence.label_style()],
                                           lambda: evidence.annotated(path, boxes, side))
    except ImageError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.reason) from None
    return Response(data, media_type="image/jpeg")


@router.get("/{image_id}/meta")
def get_image_meta(image_id: IdPath, session: SessionDep, who: FlightReader) -> ImageOut:
    return image_out(image_for(session, who, image_id))


@router.post("/{image_id}/annotations", status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "The photo's flight is not processed yet"}})
def add_annotation(image_id: IdPath, body: AnnotationCreate, services: ServicesDep,
                   session: SessionDep, who: DefectWriter) -> DefectDetail:
    """A missed object drawn on a photo (class and box in its pixels) becomes an item like a
    detected one: placed on the map by the same geotagging, in the queue confirmed (its
    deadline started), seen by the photo's flight, audited as drawn by the reviewer. 422 for an
    unknown or component class or a box outside the photo."""
    image = image_for(session, who, image_id)
    try:
        item = review.draw_item(
            session, image, services.store.path_for(image.sha256), body.class_key, body.xyxy,
            review.actor_of(who), services.settings.due_hours(), utcnow(), body.note)
    except review.NotReady as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except review.ReviewError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    session.commit()
    return queries.get_defect(session, item.id)
