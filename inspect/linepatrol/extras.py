"""Which optional extra of the ``linepatrol`` distribution installs a missing module.

Read from the installed distribution's own metadata (pyproject's optional-dependencies), so
the table is not written twice: a command that needs ``trimesh`` without the ``synth`` extra
ends in "install the synth extra: pip install 'linepatrol[synth]'" rather than a traceback.
"""

from __future__ import annotations

import re
from importlib import metadata

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")
# dev tools duplicate some runtime packages (httpx); a user is pointed at the runtime extra
_NOT_FOR_USERS = {"dev"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def extra_for(module: str) -> str | None:
    """The extra that installs the top-level ``module`` (``yaml`` -> ``train`` via pyyaml,
    ``multipart`` -> ``service`` via python-multipart); None when no extra does."""
    try:
        requirements = metadata.requires("linepatrol") or []
    except metadata.PackageNotFoundError:
        return None
    top = module.split(".")[0]
    wanted = {_norm(top), _norm("py" + top), _norm("python-" + top)}
    for req in requirements:
        name, extra = _NAME.match(req), _EXTRA.search(req)
        if name and extra and extra.group(1) not in _NOT_FOR_USERS \
                and _norm(name.group(0)) in wanted:
            return extra.group(1)
    return None


def missing_extra_message(exc: ModuleNotFoundError) -> str | None:
    """What to tell the user about a missing module, or None when it is no extra's."""
    extra = extra_for(exc.name or "")
    if extra is None:
        return None
    return (f"{exc.name} is not installed; install the {extra} extra: "
            f"pip install 'linepatrol[{extra}]'")
