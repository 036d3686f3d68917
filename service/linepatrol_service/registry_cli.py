"""``linepatrol models``: the model registry from a shell (the API's ``/models`` does the same).

Registering reads the model as the core will run it and copies its files into the data
directory; moves go through the registry's transition table and are audited under
``--actor`` (default: the shell's user).
"""

from __future__ import annotations

import argparse
import getpass
import json
from pathlib import Path
from typing import Any

from linepatrol.model_store import ActiveModel
from linepatrol_service.cli import _data_arg, _open

STATES = ("registered", "shadow", "active", "retired")


def active_model(data_dir: Path) -> ActiveModel | None:
    """The ``linepatrol.model_registry`` entry point: the version the registry in
    ``data_dir`` runs (what ``linepatrol info --data DIR`` reports and loads); None where
    there is no data directory (nothing is created to answer)."""
    from linepatrol_service import registry
    from linepatrol_service.services import Services
    from linepatrol_service.settings import ServiceSettings

    if not data_dir.is_dir():
        return None
    services = Services(ServiceSettings(data_dir=data_dir), run_migrations=False)
    try:
        with services.sessions() as s:
            now = registry.deployment(s, services.settings.model_dir, services.settings.model)
    except Exception:  # no database there yet (or not at this schema): nothing registered
        return ActiveModel(registry.DEFAULT_VERSION, services.settings.model)
    finally:
        services.close()
    return ActiveModel(now.active.name, now.active.spec)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``linepatrol models``; imports nothing heavy."""
    models = subparsers.add_parser(
        "models", help="the service's model registry: register, shadow, promote, compare")
    sub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    reg = sub.add_parser("register", help="register FILE.onnx (or A.onnx+bundled-name) with "
                         "its card; it runs nowhere until shadowed or promoted")
    reg.add_argument("spec", metavar="FILE.onnx",
                     help="the model; several joined by '+' run together (files or bundled "
                     "names); FILE-int8.onnx beside it is registered with it")
    reg.add_argument("--name", help="version name (default: the file's stem)")
    reg.add_argument("--card", type=Path,
                     help="model card, Markdown (default: FILE.md beside the model, if any)")
    _common(reg)
    reg.set_defaults(handler=_register)

    lst = sub.add_parser("list", help="the registered versions and what runs now")
    _common(lst)
    lst.set_defaults(handler=_list)

    show = sub.add_parser("show", help="a version's card, history and shadow comparison")
    show.add_argument("version", help="name or id")
    show.add_argument("--json", action="store_true")
    _common(show)
    show.set_defaults(handler=_show)

    for action, state, text in (
            ("shadow", "shadow", "run VERSION beside the active model on new photos"),
            ("promote", "active", "make VERSION the active model (the current one is retired)"),
            ("unshadow", "registered", "stop VERSION's shadow runs"),
            ("retire", "retired", "retire the active VERSION (the configured model runs)")):
        p = sub.add_parser(action, help=text)
        p.add_argument("version", help="name or id")
        p.add_argument("--note", default=None)
        _common(p)
        p.set_defaults(handler=_move, state=state)


def _common(p: argparse.ArgumentParser) -> None:
    _data_arg(p)
    p.add_argument("--actor", default=None, help="who the audit names (default: $USER)")


def _actor(args: argparse.Namespace) -> str:
    return f"cli:{args.actor or getpass.getuser()}"


def _find(session: Any, ref: str) -> Any:
    from sqlalchemy import select

    from linepatrol.cli import UserError
    from linepatrol_service.models import ModelVersion

    row = session.scalar(select(ModelVersion).where(ModelVersion.name == ref))
    if row is None and ref.isdigit():
        row = session.get(ModelVersion, int(ref))
    if row is None:
        raise UserError(f"no registered model {ref!r} (see linepatrol models list)")
    return row


def _register(args: argparse.Namespace) -> int:
    from linepatrol.cli import UserError
    from linepatrol_service import registry

    first = Path(args.spec.split("+")[0]).expanduser()
    card_path = args.card or first.with_suffix(".md")
    card = card_path.read_text(encoding="utf-8") if card_path.is_file() else ""
    if args.card and not args.card.is_file():
        raise UserError(f"no card at {args.card}")
    with _open(args) as services, services.sessions.begin() as s:
        try:
            row = registry.register(s, services.settings.model_dir, args.spec, args.name,
                                    card, _actor(args))
        except registry.RegistryError as exc:
            raise UserError(str(exc)) from None
        print(f"registered {row.name} (id {row.id}): {', '.join(row.classes)}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from linepatrol_service import registry
    from linepatrol_service.models import ModelVersion

    with _open(args) as services, services.sessions() as s:
        now = registry.deployment(s, services.settings.model_dir, services.settings.model)
        print(f"active: {now.active.name}" + (f"; shadow: {now.shadow.name}"
                                              if now.shadow else ""))
        for v in s.scalars(select(ModelVersion).order_by(ModelVersion.id)):
            print(f"{v.id}\t{v.state}\t{v.name}\t{v.registered_at:%Y-%m-%d %H:%M}\t"
                  f"{len(v.classes)} classes")
    return 0


def _tally_line(label: str, t: Any) -> str:
    recall = "n/a" if t.recall is None else f"{t.recall:.3f}"
    return (f"  {label:<8} recall {recall} ({t.found}/{t.positives} kept objects found), "
            f"repeats {t.repeated}/{t.rejected} rejected false detections")


def _show(args: argparse.Namespace) -> int:
    from linepatrol_service.model_views import model_detail

    with _open(args) as services, services.sessions() as s:
        out = model_detail(s, _find(s, args.version))
    if args.json:
        print(json.dumps(out.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return 0
    print(f"{out.name} (id {out.id}) — {out.state}; classes: {', '.join(out.classes)}")
    for e in out.events:
        print(f"  {e.at:%Y-%m-%d %H:%M} {e.actor}: {e.from_state or '-'} -> {e.to_state}"
              + (f" ({e.note})" if e.note else ""))
    c = out.comparison
    print(f"on the {c.version.photos} photos it ran on in shadow, against the reviews:")
    print(_tally_line("it", c.version))
    print(_tally_line("active", c.active))
    for u in c.unreviewed:
        print(f"  {u.class_key} (not reviewed): {u.version} boxes by it, {u.active} by the "
              "active model")
    return 0


def _move(args: argparse.Namespace) -> int:
    from linepatrol.cli import UserError
    from linepatrol_service import registry
    from linepatrol_service.domain import ModelState, TransitionError

    with _open(args) as services, services.sessions.begin() as s:
        row = _find(s, args.version)
        try:
            registry.move(s, row, ModelState(args.state), _actor(args), args.note)
        except TransitionError as exc:
            raise UserError(f"{row.name}: {exc}") from None
        print(f"{row.name}: {args.state}")
    return 0
