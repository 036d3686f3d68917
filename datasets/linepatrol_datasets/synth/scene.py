"""A corridor scene: towers of one line, conductors, and objects at known world positions.

World frame: ENU metres around the scene's geodetic origin, flat ground at up = 0 (the origin's
ellipsoidal height is the ground's elevation). Every labelled object is a
:class:`SceneObject` with its own instance id, its mesh in world coordinates, and an *anchor*:
the world point a geotagger should recover for it (the footprint centre on the ground for
machines and smoke, the nest centre, the conductor point a foreign object hangs from, the
missing disc's centre, the middle of an insulator string, a tower's foot).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from linepatrol.geo.geodesy import LocalFrame

from . import objects, towers
from .mesh import EMPTY, Mesh, concat, rotation_z, translation
from .render import ID_UNLABELLED, SceneGeometry

FIRST_INSTANCE_ID = 2
HAZARD_KEYS = tuple(objects.GROUND_MACHINES)


@dataclass
class TowerRecord:
    number: str
    foot: np.ndarray  # ENU of the tower centre on the ground
    heading: float  # math angle (deg, counter-clockwise from east) of the tower's local x
    height: float
    model: towers.TowerModel

    def to_world(self, local: np.ndarray) -> np.ndarray:
        m = self.matrix
        world: np.ndarray = np.asarray(local, dtype=np.float64) @ m[:3, :3].T + m[:3, 3]
        return world

    @property
    def matrix(self) -> np.ndarray:
        matrix: np.ndarray = translation(*self.foot) @ rotation_z(self.heading)
        return matrix


@dataclass
class SceneObject:
    instance_id: int
    key: str  # taxonomy key
    variant: str
    anchor: np.ndarray  # ENU truth position
    mesh: Mesh  # opaque part, world coordinates
    translucent: Mesh = EMPTY
    tower: str | None = None
    span: str | None = None

    @property
    def vertices(self) -> np.ndarray:
        return np.concatenate([self.mesh.positions, self.translucent.positions])


@dataclass
class SceneOptions:
    towers: int = 3
    hazards: tuple[int, int] = (1, 4)  # inclusive range of machines per scene
    smoke_probability: float = 0.15
    nests: tuple[int, int] = (0, 2)
    foreign_objects: tuple[int, int] = (0, 2)
    missing_caps: tuple[int, int] = (0, 2)
    slipped_dampers: tuple[int, int] = (0, 1)
    lateral_m: float = 45.0  # machines stand within this distance of the line's centre line


@dataclass
class Scene:
    frame: LocalFrame
    line: str
    towers: list[TowerRecord]
    objects: list[SceneObject]
    clutter: Mesh  # unlabelled geometry that occludes (conductors, earth wires)
    ground_texture: np.ndarray
    ground_tile_m: float
    conductors: list[np.ndarray] = field(default_factory=list)

    def geometry(self) -> SceneGeometry:
        opaque = [self.clutter] + [o.mesh for o in self.objects]
        ids = [np.full(self.clutter.triangle_count * 3, ID_UNLABELLED, np.uint32)] + [
            np.full(o.mesh.triangle_count * 3, o.instance_id, np.uint32) for o in self.objects]
        trans = [o.translucent for o in self.objects if o.translucent.triangle_count]
        tids = [np.full(o.translucent.triangle_count * 3, o.instance_id, np.uint32)
                for o in self.objects if o.translucent.triangle_count]
        return SceneGeometry(concat(opaque), np.concatenate(ids), concat(trans),
                             np.concatenate(tids) if tids else np.zeros(0, np.uint32),
                             self.ground_texture, self.ground_tile_m)

    @property
    def keys(self) -> dict[int, str]:
        return {o.instance_id: o.key for o in self.objects}

    def geodetic(self, enu: np.ndarray) -> tuple[float, float, float]:
        lat, lon, h = self.frame.to_geodetic(np.asarray(enu, dtype=np.float64))[0]
        return float(lat), float(lon), float(h)

    def ledger_csv(self) -> str:
        """The tower ledger in the format ``linepatrol.geo.ledger.Ledger`` reads."""
        rows = ["line,tower,lat,lon,ground_elev,height"]
        for t in self.towers:
            lat, lon, h = self.geodetic(t.foot)
            rows.append(f"{self.line},{t.number},{lat:.9f},{lon:.9f},{h:.3f},{t.height:.2f}")
        return "\n".join(rows) + "\n"

    def truth(self) -> dict[str, Any]:
        """Every object's class and position (ENU and WGS84) with its tower or span."""
        objs = []
        for o in self.objects:
            lat, lon, h = self.geodetic(o.anchor)
            objs.append({
                "instance_id": o.instance_id, "class": o.key, "variant": o.variant,
                "enu": [round(float(v), 4) for v in o.anchor],
                "lat": lat, "lon": lon, "alt": round(h, 4),
                "height_above_ground": round(float(o.anchor[2]), 4),
                "tower": o.tower, "span": o.span,
            })
        return {
            "origin": {"lat": self.frame.lat0, "lon": self.frame.lon0, "alt": self.frame.h0},
            "altitude_datum": "ellipsoid",
            "line": self.line,
            "towers": [{"tower": t.number, "enu": [round(float(v), 4) for v in t.foot],
                        "height": round(t.height, 3), "heading_deg": round(t.heading, 4)}
                       for t in self.towers],
            "objects": objs,
        }


def _span_name(a: TowerRecord, b: TowerRecord) -> str:
    return f"{a.number}-{b.number}"


def build_scene(rng: np.random.Generator, ground_tile: np.ndarray,
                options: SceneOptions | None = None,
                origin: tuple[float, float, float] | None = None) -> Scene:
    """A random corridor scene (all randomness from ``rng``)."""
    opt = options or SceneOptions()
    lat0, lon0, h0 = origin or (float(rng.uniform(22, 40)), float(rng.uniform(103, 121)),
                                float(rng.uniform(5, 1200)))
    frame = LocalFrame(lat0, lon0, h0)
    line = f"SYN{int(rng.integers(100, 999))}"
    first_no = int(rng.integers(1, 200))
    design = towers.random_design(rng)

    # Tower feet along a gently turning line, centred on the origin.
    heading = float(rng.uniform(0, 360))
    spans = rng.uniform(220, 360, max(opt.towers - 1, 0))
    feet = [np.zeros(2)]
    dirs = []
    for s in spans:
        dirs.append(heading)
        feet.append(feet[-1] + s * np.array([math.cos(math.radians(heading)),
                                             math.sin(math.radians(heading))]))
        heading += float(rng.uniform(-8, 8))
    centre = np.mean(feet, axis=0)
    recs: list[TowerRecord] = []
    for i, f in enumerate(feet):
        if not dirs:
            hd = heading
        elif i == 0:
            hd = dirs[0]
        elif i == len(dirs):
            hd = dirs[-1]
        else:
            hd = _bisector(dirs[i - 1], dirs[i])
        model = towers.build_tower(design)
        recs.append(TowerRecord(str(first_no + i), np.array([*(f - centre), 0.0]), hd,
                                design.height, model))

    next_id = FIRST_INSTANCE_ID
    objs: list[SceneObject] = []

    def new_id() -> int:
        nonlocal next_id
        next_id += 1
        return next_id - 1

    # Towers and insulator strings (components), with missing caps as line defects.
    n_caps = int(rng.integers(opt.missing_caps[0], opt.missing_caps[1] + 1))
    all_strings = [(ti, k) for ti, t in enumerate(recs) for k in range(len(t.model.strings))]
    chosen = rng.choice(len(all_strings), min(n_caps, len(all_strings)), replace=False)
    cap_sites = {all_strings[int(i)] for i in chosen}
    for ti, t in enumerate(recs):
        m = t.matrix
        objs.append(SceneObject(new_id(), "tower", "lattice", t.foot.copy(),
                                t.model.body.transformed(m), tower=t.number))
        for k, s in enumerate(t.model.strings):
            skip: tuple[int, ...] = ()
            if (ti, k) in cap_sites:
                # The discs either side of the gap carry the defect's id: a labeller boxes the
                # gap with its neighbours, and the string keeps its own box around the rest.
                gap = int(rng.integers(2, design.discs - 2))
                skip = (gap - 1, gap, gap + 1)
                nb = concat([towers.disc_mesh(s.disc_centres[j], design.insulator_rgb)
                             for j in (gap - 1, gap + 1)])
                objs.append(SceneObject(new_id(), "insulator_missing_cap", "missing_disc",
                                        t.to_world(s.disc_centres[gap][None])[0],
                                        nb.transformed(m), tower=t.number))
            string_mesh = towers.insulator_mesh(s, design.insulator_rgb, skip)
            mid = (s.top + s.bottom) / 2
            objs.append(SceneObject(new_id(), "insulator", "suspension_string",
                                    t.to_world(mid[None])[0], string_mesh.transformed(m),
                                    tower=t.number))

    # Conductors and earth wires, span by span.
    clutter: list[Mesh] = []
    wires: list[tuple[str, np.ndarray]] = []
    for a, b in itertools.pairwise(recs):
        cat_a = float(rng.uniform(900, 2000))
        for sa, sb in zip(a.model.strings, b.model.strings, strict=True):
            pts = towers.catenary(a.to_world(sa.bottom[None])[0], b.to_world(sb.bottom[None])[0],
                                  cat_a)
            wires.append((_span_name(a, b), pts))
            clutter.append(towers.conductor_mesh(pts, 0.035))
        for pa, pb in zip(a.model.peaks, b.model.peaks, strict=True):
            pts = towers.catenary(a.to_world(pa[None])[0], b.to_world(pb[None])[0], cat_a * 1.2)
            clutter.append(towers.conductor_mesh(pts, 0.02, (0.5, 0.5, 0.5)))

    # Vibration dampers 1.5-2.5 m out from every clamp; a slipped one has crept 8-30 m along.
    n_slip = int(rng.integers(opt.slipped_dampers[0], opt.slipped_dampers[1] + 1))
    slots = [(w, end) for w in range(len(wires)) for end in (False, True)]
    slipped = {slots[int(i)] for i in rng.choice(len(slots), min(n_slip, len(slots)),
                                                  replace=False)} if slots else set()
    for w, end in slots:
        span, pts = wires[w]
        key = "damper_slipped" if (w, end) in slipped else "damper"
        dist = float(rng.uniform(8, 30) if key == "damper_slipped" else rng.uniform(1.5, 2.5))
        at, tangent = objects.point_along(pts, dist, from_end=end)
        objs.append(SceneObject(new_id(), key, "stockbridge", at - np.array([0, 0, 0.14]),
                                objects.damper(at, tangent), span=span))

    # Bird nests on cross-arm roots.
    sites = [(t, s) for t in recs for s in t.model.nest_sites]
    n_nests = int(rng.integers(opt.nests[0], opt.nests[1] + 1))
    for i in rng.choice(len(sites), min(n_nests, len(sites)), replace=False):
        t, site = sites[int(i)]
        nest, variant = objects.bird_nest(rng)
        world = t.to_world(site[None])[0]
        mesh = objects.placed(nest, world, float(rng.uniform(0, 360)))
        centre = world + np.array([0, 0, 0.15])
        objs.append(SceneObject(new_id(), "bird_nest", variant, centre, mesh, tower=t.number))

    # Foreign objects hanging on conductors.
    n_fo = int(rng.integers(opt.foreign_objects[0], opt.foreign_objects[1] + 1))
    for _ in range(n_fo if wires else 0):
        span, pts = wires[int(rng.integers(len(wires)))]
        i = int(rng.integers(int(len(pts) * 0.2), int(len(pts) * 0.8)))
        at, tangent = pts[i], pts[i + 1] - pts[i - 1]
        kind = list(objects.FOREIGN_OBJECTS)[int(rng.integers(len(objects.FOREIGN_OBJECTS)))]
        mesh = objects.FOREIGN_OBJECTS[kind](rng, at, tangent)
        objs.append(SceneObject(new_id(), "foreign_object", kind, at.copy(), mesh, span=span))

    # Machines and smoke on the ground near the line.
    taken: list[tuple[np.ndarray, float]] = [(t.foot[:2], 14.0) for t in recs]
    n_haz = int(rng.integers(opt.hazards[0], opt.hazards[1] + 1))
    ground_items: list[str] = [HAZARD_KEYS[int(rng.integers(len(HAZARD_KEYS)))]
                               for _ in range(n_haz)]
    if rng.random() < opt.smoke_probability:
        ground_items.append("smoke_fire")
    for key in ground_items:
        spot = _free_spot(rng, recs, taken, opt.lateral_m, 9.0)
        if spot is None:
            continue
        pos, near_span = spot
        yaw = float(rng.uniform(0, 360))
        if key == "smoke_fire":
            flames, smoke, variant = objects.smoke_plume(rng)
            objs.append(SceneObject(new_id(), key, variant, np.array([*pos, 0.0]),
                                    objects.placed(flames, [*pos, 0.0], yaw),
                                    objects.placed(smoke, [*pos, 0.0], yaw), span=near_span))
            continue
        mesh, variant = objects.GROUND_MACHINES[key](rng)
        objs.append(SceneObject(new_id(), key, variant, np.array([*pos, 0.0]),
                                objects.placed(mesh, [*pos, 0.0], yaw), span=near_span))

    clutter += _distractors(rng, recs, taken)
    return Scene(frame, line, recs, objs, concat(clutter), ground_tile,
                 float(rng.uniform(70, 130)), [p for _, p in wires])


def _distractors(rng: np.random.Generator, recs: list[TowerRecord],
                 taken: list[tuple[np.ndarray, float]]) -> list[Mesh]:
    """Unlabelled trees and houses around the corridor: hard negatives and occluders.

    Trees keep out of the cleared strip under the conductors (12 m each side), houses out of
    a 30 m strip, as line clearance rules require."""
    parts: list[Mesh] = []
    for kind, count, lateral, radius in (("tree", int(rng.integers(10, 40)), (12.0, 160.0), 4.0),
                                         ("house", int(rng.integers(0, 8)), (30.0, 200.0), 9.0)):
        for _ in range(count):
            spot = _free_spot(rng, recs, taken, lateral[1], radius, min_lateral=lateral[0])
            if spot is None:
                continue
            mesh = objects.tree(rng) if kind == "tree" else objects.house(rng)
            parts.append(objects.placed(mesh, [*spot[0], 0.0], float(rng.uniform(0, 360))))
    return parts


def _bisector(a_deg: float, b_deg: float) -> float:
    a, b = math.radians(a_deg), math.radians(b_deg)
    return math.degrees(math.atan2(math.sin(a) + math.sin(b), math.cos(a) + math.cos(b)))


def _free_spot(rng: np.random.Generator, recs: list[TowerRecord],
               taken: list[tuple[np.ndarray, float]], lateral: float,
               radius: float, min_lateral: float = 0.0) -> tuple[np.ndarray, str | None] | None:
    """A ground point near the line, clear of towers and earlier machines, and its span."""
    for _ in range(50):
        if len(recs) > 1:
            i = int(rng.integers(len(recs) - 1))
            a, b = recs[i].foot[:2], recs[i + 1].foot[:2]
            span: str | None = _span_name(recs[i], recs[i + 1])
        else:
            a = b = recs[0].foot[:2]
            span = None
        d = b - a
        n = np.linalg.norm(d)
        along = d / n if n > 0 else np.array([1.0, 0.0])
        side = np.array([-along[1], along[0]])
        offset = rng.uniform(min_lateral, lateral) * (1 if rng.random() < 0.5 else -1)
        p = a + d * rng.uniform(0.08, 0.92) + side * offset
        if all(np.linalg.norm(p - q) > r + radius for q, r in taken):
            taken.append((p, radius))
            return p, span
    return None
