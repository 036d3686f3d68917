"""The model registry: which model finds the queue's items, which one runs beside it in shadow.

A new model earns its place on the utility's own photos: registered with its card, it runs in
**shadow** on the next flights (its boxes recorded beside the active model's on each photo,
never queued), the registry scores both against what the reviewers then decided
(:mod:`linepatrol.verdicts`), and an admin **promotes** it. Every move is audited; every photo
and item records the version behind it. With no version active, the configured model
(``LINEPATROL_MODEL``, or the bundled default) runs, named ``default``.

Files are copied into the data directory under their content hash (an INT8 sibling
``NAME-int8.onnx`` beside the file goes with it, so CPU workers run it as they would a bundled
model); a version's ``spec`` joins those names and bundled model names with ``+`` (run
together, :mod:`linepatrol.ensemble`), so a candidate can replace one member of the default set.
"""

from __future__ import annotations

import hashlib
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from linepatrol import taxonomy
from linepatrol.model_store import ENSEMBLE_SEP, INT8_SUFFIX, ModelNotFoundError, bundled_models
from linepatrol.runtime.model_info import ModelLoadError
from linepatrol.runtime.session import OrtSession
from linepatrol.verdicts import Tally, Verdict, tally
from linepatrol_service.domain import ModelState, PhotoStatus, check
from linepatrol_service.export_plan import ExportFilter, plan
from linepatrol_service.models import Image, ModelEvent, ModelVersion, utcnow
from linepatrol_service.roles import Permission

DEFAULT_VERSION = "default"  # the name of "no registered version active": the configured model


class RegistryError(ValueError):
    """A model that cannot be registered, or a name already taken (the API answers 4xx)."""


@dataclass(frozen=True)
class Deployed:
    """A version as workers run it: its name and the spec the detector opens (``None``: the
    configured default)."""

    id: int | None
    name: str
    spec: str | None


@dataclass(frozen=True)
class Deployment:
    active: Deployed
    shadow: Deployed | None


@dataclass(frozen=True)
class UnreviewedCount:
    """Boxes of a class nobody reviews (components), the active model's and the version's, on
    the same photos: a candidate that stopped seeing insulators shows here, not in a tally."""

    class_key: str
    active: int
    version: int


@dataclass(frozen=True)
class Comparison:
    """A version's boxes and the active model's, on the same photos, against the verdicts."""

    version: Tally  # the candidate's (shadow) boxes
    active: Tally  # the boxes that made the items, on the same photos
    unreviewed: tuple[UnreviewedCount, ...] = ()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _classes(path: Path) -> list[str]:
    """The model's classes, read from the file as the detector will (a file the core cannot
    decode is refused here, not on the next flight)."""
    try:
        session = OrtSession(path, providers=["cpu"], warmup=False)
        return list(session.info.names)
    except ModelLoadError as exc:
        raise RegistryError(str(exc)) from None
    except Exception as exc:  # onnxruntime's own errors for a file that is not a model
        raise RegistryError(f"{path.name}: not an ONNX model ONNX Runtime can open "
                            f"({type(exc).__name__}: {exc})") from None


def store_part(model_dir: Path, part: str) -> tuple[str, str, list[str]]:
    """One member of a spec to register: a file, copied in under its hash, or a bundled name
    kept as it is. Returns (name in the stored spec, sha256, classes)."""
    path = Path(part).expanduser()
    if path.is_file():
        if path.suffix.lower() != ".onnx":
            raise RegistryError(f"{path.name}: not an .onnx file")
        classes = _classes(path)
        sha = _sha256(path)
        model_dir.mkdir(parents=True, exist_ok=True)
        stored = f"{sha}.onnx"
        if not (model_dir / stored).is_file():
            tmp = model_dir / f".{stored}.part"
            shutil.copyfile(path, tmp)
            tmp.replace(model_dir / stored)
        sibling = path.with_name(path.stem + INT8_SUFFIX + path.suffix)
        if sibling.is_file() and not (model_dir / f"{sha}{INT8_SUFFIX}.onnx").is_file():
            _classes(sibling)
            tmp = model_dir / f".{sha}{INT8_SUFFIX}.onnx.part"
            shutil.copyfile(sibling, tmp)
            tmp.replace(model_dir / f"{sha}{INT8_SUFFIX}.onnx")
        return stored, sha, classes
    bundled = bundled_models()
    if part not in bundled:
        raise RegistryError(f"{part}: neither a file nor a bundled model "
                            f"(bundled: {', '.join(sorted(bundled))})")
    return part, _sha256(bundled[part]), _classes(bundled[part])


def resolve_spec(model_dir: Path, stored: str) -> str:
    """A stored spec as the detector opens it: stored names become paths in ``model_dir``."""
    parts = []
    for part in stored.split(ENSEMBLE_SEP):
        path = model_dir / part
        if path.is_file():
            parts.append(str(path))
        elif part in bundled_models():
            parts.append(part)
        else:
            raise ModelNotFoundError(f"registered model file {part} is missing from {model_dir}")
    return ENSEMBLE_SEP.join(parts)


def _event(session: Session, version: ModelVersion, before: str | None, after: ModelState,
           actor: str, note: str | None) -> None:
    session.add(ModelEvent(model_id=version.id, actor=actor, from_state=before,
                           to_state=after.value, note=note, at=utcnow()))


def register(session: Session, model_dir: Path, spec: str, name: str | None, card: str,
             actor: str) -> ModelVersion:
    """Store a new version (files copied in, classes read) in the ``registered`` state."""
    parts = [p.strip() for p in spec.split(ENSEMBLE_SEP) if p.strip()]
    if not parts:
        raise RegistryError("no model given")
    stored = [store_part(model_dir, part) for part in parts]
    name = name or Path(parts[0]).stem
    if session.scalar(select(ModelVersion.id).where(ModelVersion.name == name)) is not None:
        raise RegistryError(f"a model named {name!r} is registered already")
    if name == DEFAULT_VERSION:
        raise RegistryError(f"{DEFAULT_VERSION!r} names the configured model; choose another")
    classes: list[str] = []
    for _, _, names in stored:
        classes += [c for c in names if c not in classes]
    version = ModelVersion(name=name, spec=ENSEMBLE_SEP.join(s for s, _, _ in stored),
                           sha256=stored[0][1], classes=classes, card=card,
                           state=ModelState.REGISTERED, registered_by=actor,
                           registered_at=utcnow())
    session.add(version)
    session.flush()
    _event(session, version, None, ModelState.REGISTERED, actor, None)
    return version


def move(session: Session, version: ModelVersion, wanted: ModelState, actor: str,
         note: str | None = None) -> None:
    """Move a version through the transition table; promoting retires the active version and
    shadowing puts the current shadow back to registered (one of each at a time)."""
    current = ModelState(version.state)
    check(current, wanted, Permission.ADMIN)
    if wanted in (ModelState.ACTIVE, ModelState.SHADOW):
        displaced = ModelState.RETIRED if wanted is ModelState.ACTIVE else ModelState.REGISTERED
        for other in session.scalars(select(ModelVersion).where(
                ModelVersion.state == wanted, ModelVersion.id != version.id).with_for_update()):
            other.state = displaced
            _event(session, other, wanted.value, displaced, actor,
                   f"replaced by {version.name}")
    version.state = wanted
    if wanted is ModelState.ACTIVE:
        version.promoted_at = utcnow()
    _event(session, version, current.value, wanted, actor, note)


def deployment(session: Session, model_dir: Path, configured: str | None) -> Deployment:
    """What runs now: the active version (or the configured model) and the shadow, if any."""
    rows = session.scalars(select(ModelVersion).where(
        ModelVersion.state.in_((ModelState.ACTIVE, ModelState.SHADOW)))).all()
    active = Deployed(None, DEFAULT_VERSION, configured)
    shadow = None
    for row in rows:
        deployed = Deployed(row.id, row.name, resolve_spec(model_dir, row.spec))
        if row.state == ModelState.ACTIVE:
            active = deployed
        else:
            shadow = deployed
    return Deployment(active, shadow)


def compare(session: Session, version: ModelVersion) -> Comparison:
    """The version's shadow boxes and the active model's, on every photo the version ran on in
    shadow, scored against the reviewers' verdicts on those photos."""
    images = session.scalars(select(Image).where(
        Image.shadow_model_id == version.id, Image.status == PhotoStatus.DONE)).all()
    if not images:
        return Comparison(Tally(), Tally())
    by_id = {im.id: im for im in images}
    flights = frozenset(im.flight_id for im in images if im.flight_id is not None)
    verdicts: dict[int, list[Verdict]] = {}
    for photo in plan(session, ExportFilter(flights=flights)):
        if photo.image_id in by_id:
            verdicts[photo.image_id] = (
                [Verdict(b.class_key, b.xyxy, True) for b in photo.positives]
                + [Verdict(b.class_key, b.xyxy, False) for b in photo.false_positives])
    shadow = tally((im.shadow_detections or [], verdicts.get(im.id, [])) for im in images)
    active = tally((im.detections or [], verdicts.get(im.id, [])) for im in images)
    return Comparison(shadow, active, unreviewed_counts(images))


def unreviewed_counts(images: Sequence[Image]) -> tuple[UnreviewedCount, ...]:
    """Per component class, the boxes each model drew on these photos (taxonomy order)."""
    active: Counter[str] = Counter()
    shadow: Counter[str] = Counter()
    for im in images:
        active.update(d["class"] for d in im.detections or [])
        shadow.update(d["class"] for d in im.shadow_detections or [])
    return tuple(UnreviewedCount(c.key, active[c.key], shadow[c.key]) for c in taxonomy.CLASSES
                 if c.category is taxonomy.Category.COMPONENT and (active[c.key] or shadow[c.key]))
