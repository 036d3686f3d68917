"""Photos as evidence: the original, an annotated copy with the boxes, or a thumbnail."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from linepatrol.images import ImageError
from linepatrol_service import evidence
from linepatrol_service.deps import (
    FlightReader,
    IdPath,
    ServicesDep,
    SessionDep,
)
from linepatrol_service.schemas import ImageOut
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
