"""One defect per physical object: merging placed detections across a flight's photos.

Rules, in one place:

* on a tower: same class, same line and tower, when the viewing rays meet in the tower's
  cross-arm plane (:func:`linepatrol.geo.camera.cross_arm_point`; each ray missing the in-plane
  point by at most ``tower_merge_miss_m``): two nests on one tower's arms are two defects. The
  defect's position is that in-plane point of all its views;
* on a span: same class and span, when the viewing rays meet: a new view joins a group when
  its ray and the group's rays triangulate to one point (each ray missing it by at most
  ``triangulation_max_miss_m``); rays too parallel to triangulate join by the horizontal
  distance rule below. The defect's position is the triangulated point (a single view only
  fixes where its ray crosses the span's centre plane, which misplaces a conductor 10 m to the
  side by 10 m / tan of the viewing angle along the line), else the mean of the views;
* on the ground: same class within ``merge_distance_m`` (horizontal) of the group's best view —
  measured from the best view rather than chained from member to member, so a row of cranes
  along a road does not melt into one;
* two detections in one photo are two objects (the detector has already merged duplicates),
  so they never join one tower, span or ground group;
* stray views of a line object: a view assigned elsewhere (its ray passed nearer another
  tower's axis, missed the span's bounds, or went to the ground) joins a tower or span defect
  of its class seen from at least two photos when its ray passes that defect's point as well as
  the defect's own rays must (``tower_merge_miss_m`` / ``triangulation_max_miss_m``). One
  object seen from several sides is then one defect, not one plus a stray far away;
* one machine under several names: ground groups of construction machinery
  (``ClassInfo.machine``) whose fused footprints agree, as for one class, and whose boxes
  overlap in every photo they share are one machine. Its class is the views' vote (summed
  confidence per class); each view keeps its own class in the evidence. Why: a detector tells
  a crane from a pump truck less surely than it finds a machine, and a patrol wants one hazard
  per machine, not one per name it was given;
* not placed (no pose, ray missed the ground): each detection stays its own defect.

Best view first: a box inside the image before one cut by its border, then the highest
confidence, then the larger box (more pixels on the object). Cut boxes position a defect only
when it has no other view.
Hazards get the horizontal distance from their position to the nearest span's centre line (the
ledger's tower-to-tower segment) and are escalated by it (``GeoConfig.hazard_*_m``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from linepatrol import boxes as box_ops
from linepatrol import taxonomy
from linepatrol.geo.camera import (
    CHI2_2D_99,
    cross_arm_point,
    fuse_estimates,
    point_segment_distance_2d,
    ray_to_vertical_axis,
    triangulate,
)
from linepatrol.geo.geodesy import LocalFrame
from linepatrol.geo.ledger import Ledger
from linepatrol.geo.locate import Defect, Evidence, GeoConfig, Placement, tower_axis

# (axis xy, line direction xy, (foot z, top z)) of a tower in the flight frame
TowerPlane = tuple[np.ndarray, np.ndarray, tuple[float, float]]


@dataclass
class _Group:
    key: str
    kind: str
    datum: str | None
    members: list[Evidence] = field(default_factory=list)
    seed: np.ndarray | None = None  # ENU of the best view, in the flight frame
    images: set[str] = field(default_factory=set)
    point: np.ndarray | None = None  # tower groups: the in-plane point of the members so far

    def __post_init__(self) -> None:
        self.images = {e.image_id for e in self.members}

    def append(self, ev: Evidence) -> None:
        """Add a view that ranks after the members (evidence arrives best first)."""
        self.members.append(ev)
        self.images.add(ev.image_id)
        self.point = None

    def add(self, evidence: Sequence[Evidence]) -> None:
        """Add views, keeping the best view first."""
        self.members = sorted([*self.members, *evidence], key=_score, reverse=True)
        self.images |= {e.image_id for e in evidence}
        self.point = None


def _score(ev: Evidence) -> tuple[bool, float, float]:
    x0, y0, x1, y1 = ev.xyxy
    return not ev.clipped, ev.confidence, max(0.0, x1 - x0) * max(0.0, y1 - y0)


def merge_evidence(
    placed: Sequence[tuple[str, Evidence, str | None]], ledger: Ledger | None, config: GeoConfig
) -> list[Defect]:
    ordered = sorted(placed, key=lambda item: _score(item[1]), reverse=True)
    anchor = next((ev.placement for _, ev, _ in ordered if ev.placement.lat is not None), None)
    frame = None
    if anchor is not None and anchor.lat is not None and anchor.lon is not None:
        frame = LocalFrame(anchor.lat, anchor.lon, 0.0)
    groups: list[_Group] = []
    planes = _Planes(frame, ledger, config)
    for key, ev, datum in ordered:
        p = ev.placement
        if p.kind == "tower":
            same = [g for g in groups if g.kind == "tower" and g.key == key
                    and (g.members[0].placement.line, g.members[0].placement.tower)
                    == (p.line, p.tower) and ev.image_id not in g.images]
            group = next((g for g in same if planes.near(g, ev)
                          and planes.fits([*g.members, ev])), None)
            if group is None:
                group = _Group(key, p.kind, datum)
                groups.append(group)
            group.append(ev)
            continue
        if p.lat is None or p.lon is None or frame is None:
            groups.append(_Group(key, "none", datum, [ev]))  # (images from __post_init__)
            continue
        pos = frame.to_enu(p.lat, p.lon, 0.0)[0]
        match = None
        for group in groups:
            if group.kind != p.kind or group.key != key or group.seed is None:
                continue
            if ev.image_id in group.images:
                continue
            if p.kind == "span":
                first = group.members[0].placement
                if (first.line, first.span) != (p.line, p.span):
                    continue
                fits = _rays_meet(planes, [*group.members, ev])
                if fits is not None:
                    if fits:
                        match = group
                        break
                    continue
            if float(np.linalg.norm(group.seed[:2] - pos[:2])) <= config.merge_distance_m:
                match = group
                break
        if match is None:
            match = _Group(key, p.kind, datum, seed=pos)
            groups.append(match)
        match.append(ev)
    groups = _join_strays(groups, planes)
    if frame is not None:
        groups = _join_footprints(groups, frame)
        groups = _join_machines(groups, frame, config.machine_same_box_ios)
    defects = [_defect(g, frame, ledger, config, planes) for g in groups]
    defects.sort(key=_defect_order)
    for i, d in enumerate(defects, start=1):
        d.defect_id = f"D{i:04d}"
    return defects


def _ray(frame: LocalFrame, ev: Evidence) -> tuple[np.ndarray, np.ndarray] | None:
    """(camera, placed point) of a placed detection, in the flight frame."""
    p = ev.placement
    if p.camera is None or p.lat is None or p.lon is None or p.alt is None:
        return None
    both = frame.to_enu([p.camera[0], p.lat], [p.camera[1], p.lon], [p.camera[2], p.alt])
    return both[0], both[1]


def _unit_ray(frame: LocalFrame, ev: Evidence) -> tuple[np.ndarray, np.ndarray] | None:
    """(camera, unit direction) of a placed detection's viewing ray, in the flight frame."""
    ray = _ray(frame, ev)
    if ray is None:
        return None
    d = ray[1] - ray[0]
    norm = float(np.linalg.norm(d))
    return (ray[0], d / norm) if norm > 0 else None


def _site(members: Sequence[Evidence], kind: str) -> Placement:
    """The placement that names a group's tower or span: its first member of that kind (a
    stray view that joined it names another, or none)."""
    return next((e.placement for e in members if e.placement.kind == kind), members[0].placement)


class _Planes:
    """Cross-arm planes of the ledger's towers in the flight frame, and the fits in them."""

    def __init__(self, frame: LocalFrame | None, ledger: Ledger | None, config: GeoConfig):
        self.frame, self.ledger, self.config = frame, ledger, config
        self._cache: dict[tuple[str | None, str | None], TowerPlane | None] = {}
        self._rays: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}  # by id(evidence)
        self._own: dict[tuple[int, str | None, str | None], float] = {}

    def rays(self, members: Sequence[Evidence]) -> tuple[np.ndarray, np.ndarray] | None:
        """(cameras, unit directions) of the members' viewing rays; None if one is unknown.
        Converted once per view (a flight merges thousands of times)."""
        if self.frame is None or not members:
            return None
        out = []
        for e in members:
            if id(e) not in self._rays:
                self._rays[id(e)] = _unit_ray(self.frame, e)
            ray = self._rays[id(e)]
            if ray is None:
                return None
            out.append(ray)
        return np.array([r[0] for r in out]), np.array([r[1] for r in out])

    def own_miss(self, ev: Evidence, site: Placement) -> float:
        """How far a view's ray misses the cross-arm plane of ``site``'s tower on its own (a
        view straight down beside the arms never reaches them; nor one of something on the
        tower's body), at most an arm's span; 0 for a ray that does not pass the tower's axis
        within ``tower_max_distance_m`` (it sees something else)."""
        key = (id(ev), site.line, site.tower)
        if key not in self._own:
            own = 0.0
            plane = self.plane(site.line, site.tower)
            rays = self.rays([ev])
            alone = self.solve([ev], site)
            if plane is not None and rays is not None and alone is not None:
                dist, _, _ = ray_to_vertical_axis(rays[0][0], rays[1], plane[0], plane[2])
                if dist[0] <= self.config.tower_max_distance_m:
                    own = min(float(alone[1][0]), self.config.arm_half_span_m)
            self._own[key] = own
        return self._own[key]

    def near(self, group: _Group, ev: Evidence) -> bool:
        """A quick necessary test before :meth:`fits`: the view's ray passes near the group's
        in-plane point (or either is unknown)."""
        if group.point is None:
            solved = self.solve(group.members)
            group.point = solved[0] if solved is not None else None
        rays = self.rays([ev])
        if group.point is None or rays is None:
            return True
        miss = _misses(group.point, *rays)[0]
        own = self.own_miss(ev, _site(group.members, "tower"))
        return bool(miss - own <= 2 * self.config.tower_merge_miss_m + 1.0)

    def plane(self, line: str | None, tower: str | None) -> TowerPlane | None:
        if (line, tower) not in self._cache:
            self._cache[(line, tower)] = self._plane(line, tower)
        return self._cache[(line, tower)]

    def _plane(self, line: str | None, name: str | None) -> TowerPlane | None:
        if self.frame is None or self.ledger is None:
            return None
        tower = next((t for t in self.ledger.towers if (t.line, t.tower) == (line, name)), None)
        if tower is None:
            return None
        axis, along = tower_axis(self.ledger, tower, self.frame)
        if along is None:
            return None
        z_range = (-np.inf, np.inf)  # foot unknown: heights unclamped
        if tower.ground_elev is not None:
            foot = float(self.frame.to_enu(tower.lat, tower.lon, tower.ground_elev)[0, 2])
            top = foot + (tower.height or self.config.default_tower_height_m)
            z_range = (foot, top + 5.0)
        return axis, along, z_range

    def solve(self, members: Sequence[Evidence], site: Placement | None = None
              ) -> tuple[np.ndarray, np.ndarray] | None:
        """(point, each ray's miss) in the cross-arm plane of the members' tower (or
        ``site``'s)."""
        if self.frame is None or not members:
            return None
        p = site or _site(members, "tower")
        plane = self.plane(p.line, p.tower)
        rays = self.rays(members)
        if plane is None or rays is None:
            return None
        axis, along, z_range = plane
        return cross_arm_point(rays[0], rays[1], axis, along, self.config.arm_half_span_m,
                               z_range)

    def meet(self, members: Sequence[Evidence]) -> bool:
        """Whether the members' rays meet at one point of their tower's cross-arm plane: each
        ray misses the members' in-plane point by at most ``tower_merge_miss_m`` more than it
        misses the plane on its own (a ray that never reaches the plane — straight down beside
        it, or an object on the tower's body — is judged by how much the others move it)."""
        solved = self.solve(members)
        if solved is None:
            return False
        site = _site(members, "tower")
        own = np.array([self.own_miss(m, site) for m in members])
        return bool((solved[1] - own).max() <= self.config.tower_merge_miss_m)

    def fits(self, members: Sequence[Evidence]) -> bool:
        """:meth:`meet`; without a plane (no ledger direction, a ray unknown) every sighting on
        the tower is one object, as before planes."""
        p = _site(members, "tower")
        if (self.frame is None or self.plane(p.line, p.tower) is None
                or self.rays(members) is None):
            return True
        return self.meet(members)

    def locate(self, members: Sequence[Evidence]) -> tuple[np.ndarray, float, float] | None:
        """(point, RMS spread, mean range) of a tower object: the members' in-plane point,
        taken onto each ray (the nearest point) and averaged, so that rays which never reach
        the plane keep the position they fix (a view straight down beside the tower)."""
        solved = self.solve(members)
        rays = self.rays(members)
        if solved is None or rays is None:
            return None
        cams, d = rays
        along = np.maximum(np.einsum("ij,ij->i", solved[0] - cams, d), 0.0)
        on_rays = cams + along[:, None] * d
        point = on_rays.mean(axis=0)
        spread = float(np.sqrt(np.mean(np.sum((on_rays - point) ** 2, axis=1))))
        return point, spread, float(np.mean(along))


def _accepts(strong: _Group, weak: _Group, planes: _Planes) -> bool:
    """Whether the views of ``weak`` are of the tower or span object ``strong`` is: all the
    rays meet in the tower's cross-arm plane, or triangulate to one point beside the span."""
    if planes.frame is None:
        return False
    members = [*strong.members, *weak.members]
    if strong.kind == "tower":
        if planes.plane(_site(members, "tower").line, _site(members, "tower").tower) is None:
            return False
        return planes.meet(members)
    if strong.kind != "span" or planes.ledger is None:
        return False
    rays = planes.rays(members)
    tri = triangulate(*rays) if rays is not None else None
    if tri is None or tri[1].max() > planes.config.triangulation_max_miss_m:
        return False
    site = _site(members, "span")
    span = next((s for s in planes.ledger.spans if s.line == site.line and s.name == site.span),
                None)
    if span is None:
        return False
    a, b = planes.frame.to_enu([span.a.lat, span.b.lat], [span.a.lon, span.b.lon], 0.0)[:, :2]
    miss = float(point_segment_distance_2d(tri[0][:2], a, b)[0])
    return miss <= 2 * planes.config.span_margin_m


def _join_strays(groups: list[_Group], planes: _Planes) -> list[_Group]:
    """Move the views of weaker groups of a line class into a tower or span defect when their
    rays and the defect's meet (module doc)."""
    if planes.frame is None:
        return groups
    order = sorted(groups, key=lambda g: (len(g.images), _score(g.members[0])), reverse=True)
    gone: set[int] = set()
    for strong in order:
        info = taxonomy.BY_KEY.get(strong.key)
        if id(strong) in gone or info is None or not info.on_line:
            continue
        near = _near_point(strong, planes)
        for weak in order:
            if weak is strong or id(weak) in gone or weak.key != strong.key:
                continue
            if len(weak.images) > len(strong.images) or weak.images & strong.images:
                continue
            if strong.kind == "tower":
                if not all(planes.near(strong, e) for e in weak.members):
                    continue  # far from its in-plane point: no need to solve
            else:
                rays = planes.rays(weak.members)
                if near is not None and rays is not None and _misses(near, *rays).max() > 30.0:
                    continue  # far from it: no need to triangulate
            if _accepts(strong, weak, planes):
                strong.add(weak.members)
                gone.add(id(weak))
                near = _near_point(strong, planes)
    return [g for g in groups if id(g) not in gone]


def _misses(point: np.ndarray, cams: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Each ray's distance to ``point`` (behind a camera: to the camera)."""
    rel = point - cams
    along = np.maximum(np.einsum("ij,ij->i", rel, d), 0.0)
    miss: np.ndarray = np.linalg.norm(rel - along[:, None] * d, axis=1)
    return miss


def _near_point(group: _Group, planes: _Planes) -> np.ndarray | None:
    """Roughly where a line object is, to skip far strays quickly: its views' rays at their
    placed points, averaged (their in-plane or span points: within metres of it)."""
    if planes.frame is None:
        return None
    placed = [e.placement for e in group.members if e.placement.lat is not None]
    if not placed:
        return None
    enu = planes.frame.to_enu([q.lat or 0.0 for q in placed], [q.lon or 0.0 for q in placed],
                              [q.alt or 0.0 for q in placed])
    mean: np.ndarray = enu.mean(axis=0)
    return mean


def _footprint_fix(group: _Group, frame: LocalFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """(fused point, covariance) of a ground group whose views all carry a footprint
    covariance; whole views only when there are any."""
    usable = [e for e in group.members if not e.clipped] or group.members
    placed = [e.placement for e in usable]
    covs = [q.footprint_cov for q in placed]
    if group.kind != "ground" or not placed or any(c is None or q.lat is None
                                                   for c, q in zip(covs, placed, strict=True)):
        return None
    enu = frame.to_enu([q.lat or 0.0 for q in placed], [q.lon or 0.0 for q in placed], 0.0)
    cov = np.array([[[c[0], c[1]], [c[1], c[2]]] for c in covs if c is not None])
    point, fused, _ = fuse_estimates(enu[:, :2], cov, [e.confidence for e in usable])
    return point, fused


def _join_footprints(groups: list[_Group], frame: LocalFrame) -> list[_Group]:
    """Join ground groups of one class whose fused footprints agree and that share no photo.

    Why: a big machine's single views scatter by tens of metres across the view (a jib or a
    boom widens its box on one side; a box cut by the border may have lost its foot), more than
    ``merge_distance_m``, which is measured from the best view so that machines in a row stay
    apart. Compared by their uncertainty instead, a stray view of a tower crane joins the crane
    seen from all sides, while two cranes, each fixed from several sides, stay two."""
    return _join_agreeing(groups, frame,
                          lambda a, b: b.key == a.key and not a.images & b.images)


def _join_machines(groups: list[_Group], frame: LocalFrame, min_ios: float) -> list[_Group]:
    """Join ground groups of different machine classes that are one machine (module rule); the
    joined machine's class is its views' vote."""
    kept = _join_agreeing(groups, frame, lambda a, b: (
        b.key != a.key and _is_machine(a.key) and _is_machine(b.key)
        and _same_boxes(a, b, min_ios)))
    for g in kept:
        if any(e.class_key not in (None, g.key) for e in g.members):
            g.key = _vote(g.members, g.key)
    return kept


def _join_agreeing(
    groups: list[_Group], frame: LocalFrame, may_join: Callable[[_Group, _Group], bool]
) -> list[_Group]:
    """Join ground groups that ``may_join`` and whose fused footprints agree: the squared
    Mahalanobis distance of their difference under the sum of their covariances is within
    CHI2_2D_99. Groups seen from more photos absorb the others first."""
    order = sorted(groups, key=lambda g: (len(g.images), _score(g.members[0])), reverse=True)
    fixes = {id(g): _footprint_fix(g, frame) for g in order}
    gone: set[int] = set()
    for a in order:
        fa = fixes[id(a)]
        if id(a) in gone or fa is None:
            continue
        for b in order:
            fb = fixes[id(b)]
            if b is a or id(b) in gone or fb is None or not may_join(a, b):
                continue
            r = fa[0] - fb[0]
            if float(r @ np.linalg.solve(fa[1] + fb[1], r)) > CHI2_2D_99:
                continue
            a.add(b.members)
            gone.add(id(b))
            fa = fixes[id(a)] = _footprint_fix(a, frame)
            if fa is None:
                break
    return [g for g in groups if id(g) not in gone]


def _is_machine(key: str) -> bool:
    info = taxonomy.BY_KEY.get(key)
    return bool(info and info.machine)


def _same_boxes(a: _Group, b: _Group, min_ios: float) -> bool:
    """Whether, in every photo both groups were seen in, their boxes are one object's: they
    overlap by at least ``min_ios`` of the smaller. Two machines side by side in one photo are
    two boxes that do not."""
    for image in a.images & b.images:
        box_a = next(e.xyxy for e in a.members if e.image_id == image)
        box_b = next(e.xyxy for e in b.members if e.image_id == image)
        ios = box_ops.overlap_matrix(np.array([box_a]), np.array([box_b]), box_ops.MatchMetric.IOS)
        if ios[0, 0] < min_ios:
            return False
    return True


def _vote(members: Sequence[Evidence], fallback: str) -> str:
    """The class most of a machine's confidence went to (ties: the best view's)."""
    totals: dict[str, float] = {}
    for e in members:
        key = e.class_key or fallback
        totals[key] = totals.get(key, 0.0) + e.confidence
    best = members[0].class_key or fallback
    return max(totals, key=lambda k: (totals[k], k == best))


def _rays_meet(planes: _Planes, members: Sequence[Evidence]) -> bool | None:
    """Whether the members' viewing rays meet in one point; None when they cannot tell (too
    parallel to triangulate, or a ray is unknown)."""
    rays = planes.rays(members)
    if rays is None:
        return None
    solved = triangulate(*rays)
    if solved is None:
        return None
    return bool(solved[1].max() <= planes.config.triangulation_max_miss_m)


def _defect_order(d: Defect) -> tuple[int, str, str, str, str]:
    rank = taxonomy.Severity(d.severity).rank if d.severity else 9
    return rank, d.line or "~", d.tower or d.span or "~", d.class_key, d.evidence[0].image_id


def _defect(
    group: _Group, frame: LocalFrame | None, ledger: Ledger | None, config: GeoConfig,
    planes: _Planes,
) -> Defect:
    info = taxonomy.BY_KEY.get(group.key)
    best = group.members[0]
    # the site (line, tower or span) is the group's own, not a stray view's (_join_strays)
    p = _site(group.members, group.kind)
    lat, lon, alt, uncertainty = p.lat, p.lon, p.alt, p.uncertainty_m
    usable = [e for e in group.members
              if e.placement.lat is not None and e.placement.lon is not None]
    usable = [e for e in usable if not e.clipped] or usable  # cut boxes only when nothing else
    placed = [e.placement for e in usable]
    alts = [q.alt for q in placed if q.alt is not None]
    if alts:
        alt = float(np.mean(alts))
    if group.kind in ("ground", "span") and frame is not None and len(placed) > 1:
        enu = frame.to_enu([q.lat or 0.0 for q in placed], [q.lon or 0.0 for q in placed], 0.0)
        w = np.array([e.confidence for e in usable])
        mean = (enu * w[:, None]).sum(axis=0) / w.sum()
        spread = float(np.sqrt(np.mean(np.sum((enu[:, :2] - mean[:2]) ** 2, axis=1))))
        covs = [q.footprint_cov for q in placed]
        if group.kind == "ground" and all(c is not None for c in covs):
            # machines: each view fixes the base along its view, not across (fuse_estimates)
            cov = np.array([[[c[0], c[1]], [c[1], c[2]]] for c in covs if c is not None])
            point, fused, kept = fuse_estimates(enu[:, :2], cov, w)
            mean[:2] = point
            # the fused 1σ, scaled up when the views disagree more than their covariances say
            r = enu[kept, :2] - point
            chi2 = float(np.einsum("ni,nij,nj->", r, np.linalg.inv(cov[kept]), r))
            dof = 2 * int(kept.sum()) - 2
            scale = max(1.0, np.sqrt(chi2 / dof)) if dof > 0 else 1.0
            spread = float(scale * np.sqrt(np.linalg.eigvalsh(fused)[-1]))
        lat, lon = (float(v) for v in frame.to_geodetic(mean[None, :])[0, :2])
        sigmas = [q.uncertainty_m for q in placed if q.uncertainty_m is not None]
        uncertainty = float(np.hypot(min(sigmas), spread)) if sigmas else spread
    if group.kind == "span" and frame is not None and ledger is not None:
        fixed = _triangulate_on_span(frame, ledger, usable, config)
        if fixed is not None:
            lat, lon, alt, uncertainty = fixed
    if group.kind == "tower" and frame is not None:
        found = planes.locate(usable)
        if found is not None:
            point, rms, mean_range = found
            lat, lon, alt = (float(v) for v in frame.to_geodetic(point[None, :])[0])
            uncertainty = float(np.hypot(rms, mean_range * np.radians(config.sigma_angle_deg)))
    severity = info.severity if info else None
    line, tower, span, distance = p.line, p.tower, p.span, None
    is_hazard = info is not None and info.category is taxonomy.Category.HAZARD
    if is_hazard and ledger is not None and frame is not None and lat is not None:
        line, tower, span, distance = _nearest_line(frame, ledger, lat, lon or 0.0)
        severity = escalate(severity, distance, config)
    reason = p.reason if lat is None else None
    notes = {e.placement.reason for e in group.members if e.placement.lat is not None}
    if lat is not None and any(notes):
        reason = "; ".join(sorted(n for n in notes if n))
    return Defect(
        defect_id="",
        class_key=group.key,
        category=info.category.value if info else None,
        name_zh=info.zh if info else group.key,
        name_en=info.en if info else group.key,
        severity=severity.value if severity else None,
        confidence=best.confidence,
        lat=lat, lon=lon, alt=alt if lat is not None else None,
        alt_datum=group.datum if lat is not None else None,
        geo_reason=reason,
        placement=group.kind,
        uncertainty_m=uncertainty,
        line=line, tower=tower, span=span,
        distance_to_line_m=distance,
        evidence=list(group.members),
    )


def _triangulate_on_span(
    frame: LocalFrame, ledger: Ledger, members: Sequence[Evidence], config: GeoConfig
) -> tuple[float, float, float, float] | None:
    """(lat, lon, alt, uncertainty) of a conductor object seen from several cameras, or None
    when the rays do not fix a point that lies in the span's corridor.

    Uncertainty: the rays' RMS miss combined with the gimbal angle error over the mean range
    (a 1° error moves a ray 1.7 m at 100 m); the miss alone is ~0 for two exact rays."""
    rays = [(e.placement.camera, (e.placement.lat, e.placement.lon, e.placement.alt))
            for e in members if e.placement.camera is not None and e.placement.lat is not None]
    if len(rays) < 2:
        return None
    cams = frame.to_enu(*np.array([c for c, _ in rays], dtype=np.float64).T)
    hits = frame.to_enu(*np.array([h for _, h in rays], dtype=np.float64).T)
    # robust: drop the ray that misses most (a tiny box, a grazing view) while the rest
    # still disagree, down to two rays
    keep = np.arange(len(cams))
    while True:
        solved = triangulate(cams[keep], hits[keep] - cams[keep])
        if solved is None:
            return None
        point, residual = solved
        if residual.max() <= config.triangulation_max_miss_m or len(keep) <= 2:
            break
        keep = np.delete(keep, int(np.argmax(residual)))
    rms = float(np.sqrt(np.mean(residual**2)))
    cams = cams[keep]
    site = _site(members, "span")
    span = next((s for s in ledger.spans if s.line == site.line and s.name == site.span), None)
    if span is None or rms > config.triangulation_max_miss_m:
        return None
    a, b = frame.to_enu([span.a.lat, span.b.lat], [span.a.lon, span.b.lon], 0.0)[:, :2]
    if float(point_segment_distance_2d(point[:2], a, b)[0]) > 2 * config.span_margin_m:
        return None
    lat, lon, alt = (float(v) for v in frame.to_geodetic(point[None, :])[0])
    mean_range = float(np.mean(np.linalg.norm(point - cams, axis=1)))
    return lat, lon, alt, float(np.hypot(rms, mean_range * np.radians(config.sigma_angle_deg)))


def _nearest_line(
    frame: LocalFrame, ledger: Ledger, lat: float, lon: float
) -> tuple[str | None, str | None, str | None, float | None]:
    """(line, nearer tower, span, horizontal metres) of the span nearest to a ground point."""
    point = frame.to_enu(lat, lon, 0.0)[0, :2]
    best: tuple[float, str | None, str | None, str | None] | None = None
    for span in ledger.spans:
        a, b = frame.to_enu([span.a.lat, span.b.lat], [span.a.lon, span.b.lon], 0.0)[:, :2]
        dist = float(point_segment_distance_2d(point, a, b)[0])
        nearer = span.a if np.linalg.norm(point - a) <= np.linalg.norm(point - b) else span.b
        if best is None or dist < best[0]:
            best = (dist, span.line, nearer.tower, span.name)
    if best is None:  # towers but no spans: single-tower lines
        for tower in ledger.towers:
            t = frame.to_enu(tower.lat, tower.lon, 0.0)[0, :2]
            dist = float(np.linalg.norm(point - t))
            if best is None or dist < best[0]:
                best = (dist, tower.line, tower.tower, None)
    if best is None:
        return None, None, None, None
    return best[1], best[2], best[3], best[0]


def escalate(
    severity: taxonomy.Severity | None, distance: float | None, config: GeoConfig
) -> taxonomy.Severity | None:
    """Raise a hazard's grade by its distance to the line; never lower it. Public: whoever
    stages a hazard for the geotagger (the synthetic revisit) grades it by this same rule."""
    if distance is None:
        return severity
    wanted = None
    if distance < config.hazard_critical_m:
        wanted = taxonomy.Severity.CRITICAL
    elif distance < config.hazard_serious_m:
        wanted = taxonomy.Severity.SERIOUS
    if wanted is None:
        return severity
    if severity is None or wanted.rank < severity.rank:
        return wanted
    return severity
