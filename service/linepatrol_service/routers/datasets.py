"""Training data from the review: the reviewed photos and their labels, as a zip to download."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from linepatrol_service import export_plan, export_zip
from linepatrol_service.deps import DefectReader, ServicesDep, SessionDep, TextFilter
from linepatrol_service.domain import REVIEWED_DEFECT, DefectStatus

router = APIRouter(prefix="/datasets", tags=["datasets"])
_ZIP_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"application/zip": {}}, "description": "The archive"},
    206: {"content": {"application/zip": {}}, "description": "A range of the archive"},
}


@router.get("/export", response_class=FileResponse, responses=_ZIP_RESPONSES)
async def export_dataset(
    services: ServicesDep, session: SessionDep, who: DefectReader,
    format: export_zip.ExportFormat = export_zip.ExportFormat.YOLO,
    line: TextFilter = None,
    since: Annotated[dt.date | None, Query(description="Flights dated on or after")] = None,
    status_: Annotated[list[DefectStatus] | None, Query(
        alias="status", description="Photos showing an item of these statuses (default: "
        "every reviewed one)")] = None,
    components: Annotated[bool, Query(description="Also label each photo's components "
                                      "(insulators, towers, dampers: never reviewed) with the "
                                      "detector's boxes, so a fine-tune keeps them")] = False,
) -> FileResponse:
    """The reviewed photos of the line's flights (full-resolution originals) with their labels
    in the taxonomy's class keys: ``yolo`` (``data.yaml``, ``images/``, ``labels/``), ``coco``
    (``annotations.json``, ``images/``) or ``labelstudio`` (``tasks.json``, ``images/``).
    Confirmed, assigned, fixed and closed items are positives in their corrected boxes; a
    photo whose items were all rejected is a negative; unreviewed items are left out (Label
    Studio: predictions). Every archive has ``manifest.json``. The ETag is the content's hash:
    ``Range`` with ``If-Range`` resumes a download."""
    where = export_plan.ExportFilter(
        line=line, since=since, components=components,
        statuses=frozenset(status_) if status_ else REVIEWED_DEFECT)
    photos = await run_in_threadpool(export_plan.plan, session, where)
    session.close()  # the archive is written from the plan and the store, not the database
    archive = await run_in_threadpool(
        export_zip.build, photos, format, services.store.path_for,
        services.settings.data_dir / "exports")
    name = f"linepatrol-{format}-{dt.datetime.now(dt.UTC).date().isoformat()}.zip"
    return FileResponse(archive.path, media_type="application/zip", filename=name,
                        headers={"ETag": f'"{archive.key}"',
                                 "X-LinePatrol-Photos": str(archive.photos)})
