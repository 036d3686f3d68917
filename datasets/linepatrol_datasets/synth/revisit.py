"""The same line flown again later: what changed on it, and what the pilot left out.

``linepatrol data sample-flight --revisit`` builds the first flight's scene from the same seed
(same towers, ledger and objects), then changes it the way issue #15 demonstrates tracking a
line over time:

* one missing insulator cap is *fixed*: the string gets its disc back, and the two discs that
  carried the defect's label belong to the string again;
* one machine *moved closer* to the line, just across one of the geotagger's hazard distances
  (:func:`linepatrol.geo.merge.escalate`), so its grade rises — by as short a move as that
  takes, because the line's tracking calls a machine found much further from where it stood
  another machine (:mod:`linepatrol.tracking`);
* one *new* bird nest on a cross-arm root;
* one end tower and the span(s) beside it are *skipped*: no photo is aimed at them.

The choices keep the demonstration readable: the fixed cap, the new nest and the moved machine
are all in the part that is flown, and the new nest goes to a tower without a nest where the
scene has one (two nests on one tower are one place to the tracking: which of them is new
would be a guess).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from linepatrol import taxonomy
from linepatrol.geo.locate import GeoConfig
from linepatrol.geo.merge import escalate

from . import objects
from .mesh import concat, rotation_z, translation
from .scene import HAZARD_KEYS, Scene, SceneObject, TowerRecord, _span_name
from .towers import disc_mesh

# A machine ends up this far inside the hazard distance it crosses, and is preferably chosen
# among those standing at least this far outside it on the first flight: the geotagger places a
# machine's footprint to about a metre in small renders, so one right on the threshold could be
# graded either way on either flight.
INSIDE_MARGIN_M = 1.5
OUTSIDE_MARGIN_M = 1.0
# The longest move staged. The line's tracking follows a machine only as far as two combined
# sigmas of its two placements (linepatrol.tracking.SIGMAS), and a well-photographed machine is
# placed to a sigma of a metre or two: further, and the revisit's machine is another machine.
MAX_MOVE_M = 4.0
# Not moved: a tower crane's box is mostly mast and jib, whose foot is not the crane's base, and
# the geotagger places it metres off — too far for a staged crossing of a threshold.
UNSURE_BASE = ("tower_crane",)
# Ground machines are placed this far apart and from tower feet (scene._free_spot's radii).
MACHINE_RADIUS_M = 9.0
TOWER_RADIUS_M = 14.0


@dataclass(frozen=True)
class Move:
    """A machine that came closer to the line: its distances to the line's centre line."""

    instance_id: int
    key: str
    before_m: float
    after_m: float
    moved_m: float
    limit_m: float  # the hazard distance it crossed

    @property
    def clear_of_limit(self) -> bool:
        """Whether it stood far enough outside the limit to be graded below it surely."""
        return self.before_m >= self.limit_m + OUTSIDE_MARGIN_M


@dataclass(frozen=True)
class Revisit:
    """What the revisit changed (instance ids, tower numbers, span names "a-b")."""

    fixed: int
    fixed_tower: str
    fixed_at: tuple[float, float, float]  # ENU of the missing disc, now back in its string
    moved: Move
    added: int
    added_tower: str
    skipped_towers: tuple[str, ...]
    skipped_spans: tuple[str, ...]

    def skips(self, o: SceneObject) -> bool:
        """Whether the pilot leaves the object unphotographed (it is in the skipped part)."""
        return o.tower in self.skipped_towers or o.span in self.skipped_spans

    def to_json(self) -> dict[str, Any]:
        return {
            "fixed": [{"instance_id": self.fixed, "class": "insulator_missing_cap",
                       "tower": self.fixed_tower,
                       "enu": [round(v, 4) for v in self.fixed_at]}],
            "moved": [{"instance_id": self.moved.instance_id, "class": self.moved.key,
                       "distance_to_line_m": [round(self.moved.before_m, 3),
                                              round(self.moved.after_m, 3)],
                       "hazard_distance_m": self.moved.limit_m,
                       "moved_m": round(self.moved.moved_m, 3)}],
            "added": [{"instance_id": self.added, "class": "bird_nest",
                       "tower": self.added_tower}],
            "skipped": {"towers": list(self.skipped_towers), "spans": list(self.skipped_spans)},
        }


class RevisitError(ValueError):
    """The scene offers no change of some kind the revisit needs (another seed will)."""


def revisit_scene(scene: Scene, rng: np.random.Generator) -> tuple[Scene, Revisit]:
    """The scene as the revisit finds it, and what changed; the first flight's scene is left
    as it was. Raises :class:`RevisitError` when no end tower can be skipped leaving, in the
    part flown, a missing cap and a machine that a short move takes across a hazard
    distance."""
    plans = [p for end in (scene.towers[0], scene.towers[-1])
             if (p := _plan(scene, end)) is not None]
    if not plans:
        raise RevisitError("whichever end tower is skipped, the part flown lacks a missing "
                           "cap or a machine that a move of at most "
                           f"{MAX_MOVE_M:g} m takes across a hazard distance; try another seed")
    # A machine clear of its limit first, then a nest-free tower for the new nest.
    skipped, machine, move = min(plans, key=lambda p: (not p[2].clear_of_limit,
                                                       not _nest_free(scene, p[0]),
                                                       p[2].moved_m))
    flown = [t for t in scene.towers if t is not skipped]
    caps = [o for o in scene.objects if o.key == "insulator_missing_cap"
            and o.tower in {t.number for t in flown}]
    cap = caps[int(rng.integers(len(caps)))]
    objs = _fix_cap(scene, cap)
    objs = [_moved(scene, o, move) if o is machine else o for o in objs]
    nest, nest_tower = _new_nest(scene, flown, rng, max(o.instance_id for o in objs) + 1)
    objs.append(nest)
    spans = tuple(_span_name(a, b) for a, b in itertools.pairwise(scene.towers)
                  if skipped.number in (a.number, b.number))
    plan = Revisit(cap.instance_id, str(cap.tower), _xyz(cap.anchor), move, nest.instance_id,
                   nest_tower, (skipped.number,), spans)
    return replace(scene, objects=objs), plan


def _xyz(v: np.ndarray) -> tuple[float, float, float]:
    return float(v[0]), float(v[1]), float(v[2])


def _spans(scene: Scene) -> list[tuple[str, np.ndarray, np.ndarray]]:
    return [(_span_name(a, b), a.foot[:2], b.foot[:2])
            for a, b in itertools.pairwise(scene.towers)]


def _to_line(scene: Scene, xy: np.ndarray) -> tuple[float, np.ndarray]:
    """Horizontal distance from a ground point to the nearest span's centre line (the
    geotagger's distance to the line) and the nearest point on it."""
    best: tuple[float, np.ndarray] | None = None
    for _, a, b in _spans(scene):
        seg = b - a
        s = float(np.clip((xy - a) @ seg / (seg @ seg), 0.0, 1.0))
        q = a + s * seg
        d = float(np.linalg.norm(xy - q))
        if best is None or d < best[0]:
            best = (d, q)
    assert best is not None  # a flight's scene has spans
    return best


def _grade_rank(key: str, distance: float) -> int:
    """The geotagger's grade of a machine this far from the line, as a rank (0 most urgent)."""
    grade = escalate(taxonomy.severity_of(key), distance, GeoConfig())
    return grade.rank if grade is not None else len(taxonomy.Severity)


def _shortest_move(scene: Scene, o: SceneObject) -> Move | None:
    """The shortest move towards the line, to :data:`INSIDE_MARGIN_M` inside a hazard distance,
    that raises the machine's grade; None when every such move is longer than
    :data:`MAX_MOVE_M`."""
    before, _ = _to_line(scene, o.anchor[:2])
    geo = GeoConfig()
    for limit in sorted((geo.hazard_critical_m, geo.hazard_serious_m), reverse=True):
        after = limit - INSIDE_MARGIN_M
        if before <= limit or before - after > MAX_MOVE_M:
            continue
        if _grade_rank(o.key, after) < _grade_rank(o.key, before):
            return Move(o.instance_id, o.key, before, after, before - after, limit)
    return None


def _preference(move: Move) -> tuple[bool, float]:
    """Sort key of candidate moves: clear of the limit first, then the shorter."""
    return not move.clear_of_limit, move.moved_m


def _clear(scene: Scene, o: SceneObject, move: Move) -> bool:
    """Whether the machine's new spot keeps clear of tower feet and the other ground items."""
    xy = _new_xy(scene, o, move)
    if any(np.linalg.norm(xy - t.foot[:2]) <= TOWER_RADIUS_M + MACHINE_RADIUS_M
           for t in scene.towers):
        return False
    ground = [g for g in scene.objects if g is not o and g.tower is None and g.anchor[2] == 0.0]
    return all(np.linalg.norm(xy - g.anchor[:2]) > 2 * MACHINE_RADIUS_M for g in ground)


def _new_xy(scene: Scene, o: SceneObject, move: Move) -> np.ndarray:
    xy = o.anchor[:2]
    _, q = _to_line(scene, xy)
    new: np.ndarray = xy + (q - xy) * (move.moved_m / move.before_m)
    return new


def _plan(scene: Scene, skipped: TowerRecord) -> tuple[TowerRecord, SceneObject, Move] | None:
    """With ``skipped`` left out: the machine to move and its move, or None when the flown
    part lacks a missing cap or a machine that can cross a hazard distance."""
    flown = {t.number for t in scene.towers if t is not skipped}
    if not any(o.key == "insulator_missing_cap" and o.tower in flown for o in scene.objects):
        return None
    spans = {_span_name(a, b) for a, b in itertools.pairwise(scene.towers)
             if skipped.number not in (a.number, b.number)}
    best: tuple[SceneObject, Move] | None = None
    for o in scene.objects:
        if o.key not in HAZARD_KEYS or o.key in UNSURE_BASE or o.span not in spans:
            continue
        move = _shortest_move(scene, o)
        if move is not None and _clear(scene, o, move) and (
                best is None or _preference(move) < _preference(best[1])):
            best = (o, move)
    return None if best is None else (skipped, *best)


def _nest_free(scene: Scene, skipped: TowerRecord) -> bool:
    nested = {o.tower for o in scene.objects if o.key == "bird_nest"}
    return any(t.number not in nested for t in scene.towers if t is not skipped)


def _fix_cap(scene: Scene, cap: SceneObject) -> list[SceneObject]:
    """The objects with ``cap`` repaired: its string (the insulator of its tower whose axis
    passes through the gap) gets the two neighbouring discs back and a new disc in the gap."""
    tower = next(t for t in scene.towers if t.number == cap.tower)
    strings = [o for o in scene.objects if o.key == "insulator" and o.tower == cap.tower]
    string = min(strings, key=lambda s: float(np.linalg.norm(s.anchor[:2] - cap.anchor[:2])))
    rgb = tuple(float(c) for c in cap.mesh.colors[0])
    disc = disc_mesh(np.zeros(3), (rgb[0], rgb[1], rgb[2])).transformed(
        translation(*cap.anchor) @ rotation_z(tower.heading))
    whole = replace(string, mesh=concat([string.mesh, cap.mesh, disc]))
    return [whole if o is string else o for o in scene.objects if o is not cap]


def _moved(scene: Scene, o: SceneObject, move: Move) -> SceneObject:
    xy = _new_xy(scene, o, move)
    dx, dy = (float(v) for v in xy - o.anchor[:2])
    shift = translation(dx, dy, 0.0)
    return replace(o, anchor=np.array([*xy, o.anchor[2]]), mesh=o.mesh.transformed(shift),
                   translucent=o.translucent.transformed(shift))


def _new_nest(scene: Scene, flown: list[TowerRecord], rng: np.random.Generator,
              instance_id: int) -> tuple[SceneObject, str]:
    """A bird nest on a free cross-arm root of a flown tower (one without a nest if any)."""
    nested = {o.tower for o in scene.objects if o.key == "bird_nest"}
    towers = [t for t in flown if t.number not in nested] or flown
    tower = towers[int(rng.integers(len(towers)))]
    taken = [o.anchor for o in scene.objects if o.key == "bird_nest" and o.tower == tower.number]
    sites = [tower.to_world(s[None])[0] for s in tower.model.nest_sites]
    free = [s for s in sites if all(np.linalg.norm(s - a) > 1.0 for a in taken)] or sites
    world = free[int(rng.integers(len(free)))]
    nest, variant = objects.bird_nest(rng)
    mesh = objects.placed(nest, world, float(rng.uniform(0, 360)))
    return SceneObject(instance_id, "bird_nest", variant, world + np.array([0, 0, 0.15]), mesh,
                       tower=tower.number), tower.number
