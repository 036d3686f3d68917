"""The model registry for admins: register, shadow, promote, compare (the CLI's ``linepatrol
models`` does the same from a shell)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, UploadFile, status
from sqlalchemy import select

from linepatrol_service import registry
from linepatrol_service.deps import Admin, IdPath, ServicesDep, SessionDep
from linepatrol_service.domain import TransitionError
from linepatrol_service.model_views import model_detail, version_out
from linepatrol_service.models import ModelVersion
from linepatrol_service.schemas import (
    DeploymentOut,
    ModelMove,
    ModelVersionDetail,
    ModelVersionOut,
)
from linepatrol_service.validation import TEXT_PATTERN

router = APIRouter(prefix="/models", tags=["models"])


def _version(session: SessionDep, model_id: int) -> ModelVersion:
    row = session.get(ModelVersion, model_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no model {model_id}")
    return row


@router.get("")
def list_models(session: SessionDep, who: Admin) -> list[ModelVersionOut]:
    return [version_out(v) for v in session.scalars(select(ModelVersion).order_by(
        ModelVersion.id))]


@router.get("/deployment")
def current_deployment(services: ServicesDep, session: SessionDep, who: Admin) -> DeploymentOut:
    now = registry.deployment(session, services.settings.model_dir, services.settings.model)
    return DeploymentOut(active=now.active.name, active_id=now.active.id,
                         shadow=now.shadow.name if now.shadow else None,
                         shadow_id=now.shadow.id if now.shadow else None)


@router.post("", status_code=status.HTTP_201_CREATED,
             responses={409: {"description": "The name is taken"},
                        422: {"description": "Not a model the core can run"}})
def register_model(
    services: ServicesDep, session: SessionDep, who: Admin,
    file: Annotated[UploadFile, File(description="The model, .onnx")],
    int8: Annotated[UploadFile | None, File(description="Its INT8 sibling, for CPU workers")]
    = None,
    name: Annotated[str | None, Form(max_length=200, pattern=TEXT_PATTERN)] = None,
    card: Annotated[str, Form(max_length=200_000, pattern=TEXT_PATTERN,
                              description="The model card (Markdown)")] = "",
) -> ModelVersionDetail:
    stem = Path(file.filename or "model.onnx").stem or "model"
    services.settings.upload_tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=services.settings.upload_tmp_dir) as tmp:
        path = Path(tmp) / "model.onnx"
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        if int8 is not None:
            with (Path(tmp) / "model-int8.onnx").open("wb") as out:
                shutil.copyfileobj(int8.file, out)
        taken = session.scalar(select(ModelVersion.id).where(ModelVersion.name == (name or stem)))
        if taken is not None:
            raise HTTPException(status.HTTP_409_CONFLICT,
                                f"a model named {name or stem!r} is registered already")
        try:
            row = registry.register(session, services.settings.model_dir, str(path),
                                    name or stem, card, who.name)
        except registry.RegistryError as exc:  # named as uploaded, not by the server's path
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                str(exc).replace(str(path), f"{stem}.onnx")) from None
    session.commit()
    return model_detail(session, row)


@router.get("/{model_id}")
def get_model(model_id: IdPath, session: SessionDep, who: Admin) -> ModelVersionDetail:
    return model_detail(session, _version(session, model_id))


@router.patch("/{model_id}", responses={409: {"description": "A move the registry forbids"}})
def move_model(model_id: IdPath, body: ModelMove, session: SessionDep,
               who: Admin) -> ModelVersionDetail:
    """Shadow, promote (``active``: the version it replaces is retired), stop a shadow
    (``registered``) or retire; each move is audited."""
    row = _version(session, model_id)
    try:
        registry.move(session, row, body.state, who.name, body.note)
    except TransitionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    session.commit()
    return model_detail(session, row)
