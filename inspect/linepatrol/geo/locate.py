"""Placing detections: pixels to points on the ground, on a tower, or on a span.

Per photo (:func:`locate_pixels`, :func:`place_detections`) everything happens in the camera's
own ENU frame (so "north" is the camera's true north); across a flight (:func:`locate_flight`)
placed detections are merged into defects (:mod:`linepatrol.geo.merge`).

Which pixel of a box is placed:

* objects on the line (insulator defects, nests, dampers...) — the box centre; on a tower its
  ray is followed to the tower's cross-arm plane (:func:`linepatrol.geo.camera.cross_arm_point`
  says why), on a span to the span's curtain;
* everything else (hazards on the ground) — the centre of the object's footprint, its base
  (what a maintenance lead wants on the map: where the machine stands, not its boom's tip):
  :func:`footprint_anchor` — the box's foot (the side facing the nadir point) projected to the
  ground, moved away from the camera by half the class's typical footprint depth. Each such
  view also carries how well it fixes the base (along the view and across it), and merging
  fuses views by it (:func:`linepatrol.geo.camera.fuse_estimates`).

A box that touches the image border is cut: its anchor is not the object's. Such evidence is
marked ``clipped``, comes after unclipped views, and positions a defect only when no unclipped
view of it exists.

Boxes are in continuous image coordinates (the image spans 0…W, as detectors output them);
the camera model puts pixel centres on integers, so a box point x is pixel x − 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from linepatrol import taxonomy
from linepatrol.detections import Detections
from linepatrol.geo.camera import (
    cross_arm_point,
    flat_ground_uncertainty,
    line_direction,
    nadir_side_point,
    pixel_to_ray,
    point_segment_distance_2d,
    project_world_to_pixel,
    ray_curtain_hit,
    ray_to_vertical_axis,
)
from linepatrol.geo.geodesy import LocalFrame
from linepatrol.geo.ground import DemGround, FlatGround, Ground, cast_rays, ground_clearance
from linepatrol.geo.ledger import Ledger, Span, Tower
from linepatrol.geo.pose import CameraPose

FloatArray = npt.NDArray[np.float64]
MIN_CURTAIN_ANGLE_DEG = 10.0  # a ray must cross a span's centre plane at least this steeply
MAX_SPAN_M = 2000.0  # longer spans (river crossings) exist but are rarer than this suggests
# Conductors hang from the insulator strings at about this fraction of the tower's height (the
# lower cross-arms of a 2-3 level tower); used where only the tower's total height is known.
CONDUCTOR_HEIGHT_FRACTION = 0.7
# (line, tower) -> (ENU of the foot, foot height, top height), in one photo's frame
TowerTable = dict[tuple[str, str], tuple[FloatArray, float, float]]


@dataclass(frozen=True)
class GeoConfig:
    """Every knob of geotagging, with the defaults the CLI and the service use.

    Ground: a DEM when ``dem_path`` is set, else a constant ``ground_alt`` when set, else flat
    ground at the take-off point's elevation (the photo's absolute minus relative altitude).
    """

    ground_alt: float | None = None
    dem_path: Path | None = None
    max_range_m: float = 3000.0
    march_step_m: float = 20.0  # flat ground; a DEM is marched at dem_step_m
    dem_step_m: float = 5.0
    merge_distance_m: float = 15.0
    tower_max_distance_m: float = 25.0  # viewing ray to tower axis, to assign a tower
    arm_half_span_m: float = 15.0  # axis to cross-arm tip, at most (220 kV: 6-10 m; 500 kV more)
    tower_merge_miss_m: float = 1.5  # rays of one on-tower object must meet this well
    default_tower_height_m: float = 50.0  # when the ledger gives none
    span_margin_m: float = 15.0  # slack around the span's "curtain" when assigning a span
    triangulation_max_miss_m: float = 3.0  # rays of one conductor object must meet this well
    machine_same_box_ios: float = 0.5  # one machine under two names overlaps itself this much
    hazard_critical_m: float = 10.0  # hazards closer than this to a conductor: critical
    hazard_serious_m: float = 30.0  # ...closer than this: at least serious
    sigma_alt_m: float = 2.0  # altitude error without RTK fix (barometer, take-off ground)
    sigma_alt_rtk_m: float = 0.3
    sigma_angle_deg: float = 1.0  # gimbal angle error (yaw dominates)
    include_components: bool = False

    @property
    def ground_mode(self) -> str:
        return "dem" if self.dem_path else "constant" if self.ground_alt is not None else "takeoff"


@dataclass(frozen=True)
class Observation:
    """One photo of a flight: its pose (or why there is none) and its detections."""

    image_id: str
    pose: CameraPose | None
    pose_error: str | None
    width: int | None
    height: int | None
    detections: Detections


@dataclass(frozen=True)
class Placement:
    """Where one pixel / detection landed. ``lat`` is None when it could not be placed."""

    lat: float | None
    lon: float | None
    alt: float | None
    kind: str  # "tower", "span", "ground" or "none"
    reason: str | None = None  # why not placed, or a note (e.g. no tower near the ray)
    uncertainty_m: float | None = None
    range_m: float | None = None  # camera to the placed point
    line: str | None = None
    tower: str | None = None
    span: str | None = None
    tower_distance_m: float | None = None  # viewing ray to the tower axis
    camera: tuple[float, float, float] | None = None  # where the ray starts (lat, lon, alt)
    # ground footprints: covariance (m², east-east, east-north, north-north) of the estimate
    footprint_cov: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class Evidence:
    """One detection in one photo that supports a defect."""

    image_id: str
    xyxy: tuple[float, float, float, float]
    confidence: float
    pixel: tuple[float, float]  # the point placed, photo pixels, pixel centres on integers
    placement: Placement
    clipped: bool = False  # the box touches the image border
    class_key: str | None = None  # what the detector called it in this photo

    def to_json(self) -> dict[str, Any]:
        p = self.placement
        return {
            "image": self.image_id,
            "class": self.class_key,
            "xyxy": [round(v, 1) for v in self.xyxy],
            "confidence": round(self.confidence, 4),
            "pixel": [round(v, 1) for v in self.pixel],
            "lat": _r(p.lat, 8), "lon": _r(p.lon, 8), "alt": _r(p.alt, 2),
            "placement": p.kind, "range_m": _r(p.range_m, 1),
            "uncertainty_m": _r(p.uncertainty_m, 1), "note": p.reason,
            "clipped": self.clipped,
        }


@dataclass
class Defect:
    """One physical object, with every detection of it across the flight, best view first."""

    defect_id: str
    class_key: str
    category: str | None
    name_zh: str
    name_en: str
    severity: str | None
    confidence: float
    lat: float | None
    lon: float | None
    alt: float | None
    alt_datum: str | None
    geo_reason: str | None
    placement: str
    uncertainty_m: float | None
    line: str | None
    tower: str | None
    span: str | None
    distance_to_line_m: float | None
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def severity_zh(self) -> str | None:
        return taxonomy.Severity(self.severity).zh if self.severity else None

    def properties(self) -> dict[str, Any]:
        """Flat properties, as GeoJSON, CSV and the service show them."""
        return {
            "id": self.defect_id,
            "class": self.class_key,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "category": self.category,
            "severity": self.severity,
            "severity_zh": self.severity_zh,
            "confidence": round(self.confidence, 4),
            "line": self.line,
            "tower": self.tower,
            "span": self.span,
            "distance_to_line_m": _r(self.distance_to_line_m, 1),
            "placement": self.placement,
            "lat": _r(self.lat, 8),
            "lon": _r(self.lon, 8),
            "alt_m": _r(self.alt, 2),
            "alt_datum": self.alt_datum,
            "uncertainty_m": _r(self.uncertainty_m, 1),
            "geo_reason": self.geo_reason,
            "photos": len({e.image_id for e in self.evidence}),
            "evidence": [e.to_json() for e in self.evidence],
        }


def _r(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


# --- one photo ---------------------------------------------------------------------------


class PhotoGeometry:
    """A photo's camera placed in its own ENU frame, with the ground under it.

    Raises nothing: when the pose cannot be used with the configured ground, ``error`` says why
    and every placement is "none" with that reason.
    """

    def __init__(self, pose: CameraPose, config: GeoConfig, ground: Ground | None = None) -> None:
        self.pose = pose
        self.config = config
        self.error: str | None = None
        self.datum = pose.altitude_datum
        cam_alt = pose.abs_alt
        mode = config.ground_mode
        if mode == "takeoff":
            if pose.rel_alt is None:
                self.error = ("no drone-dji:RelativeAltitude, so the take-off ground is unknown; "
                              "give a ground altitude or a DEM")
            elif cam_alt is None:
                # heights relative to the take-off point: enough for flat take-off ground
                cam_alt, self.datum = pose.rel_alt, "takeoff"
                ground = FlatGround(0.0, "take-off")
            else:
                ground = ground or FlatGround(cam_alt - pose.rel_alt, "take-off")
        elif cam_alt is None:
            self.error = f"no absolute altitude in the photo, which {mode} ground needs"
        self.ground = ground or FlatGround(float(config.ground_alt or 0.0))
        self.cam_alt = float(cam_alt) if cam_alt is not None else 0.0
        self.frame = LocalFrame(pose.lat, pose.lon, self.cam_alt)
        self.rotation = pose.rotation
        self.origin = np.zeros(3)
        self._towers: tuple[Ledger, TowerTable] | None
        self._towers = None

    @property
    def camera(self) -> tuple[float, float, float]:
        return (self.pose.lat, self.pose.lon, self.cam_alt)

    @cached_property
    def height_above_ground(self) -> float:
        under = self.ground.elevation(np.array([self.pose.lat]), np.array([self.pose.lon]))[0]
        return float(self.cam_alt - under) if np.isfinite(under) else float("nan")

    def rays(self, pixels: npt.ArrayLike) -> FloatArray:
        return pixel_to_ray(self.pose.intrinsics, self.rotation, pixels)

    def cast(self, pixels: npt.ArrayLike) -> tuple[FloatArray, FloatArray, list[str | None]]:
        """(rays, ENU ground points in this photo's frame, why a ray missed) of pixels."""
        px = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        dirs = self.rays(px)
        is_dem = isinstance(self.ground, DemGround)
        step = self.config.dem_step_m if is_dem else self.config.march_step_m
        enu, reasons = cast_rays(
            self.origin, dirs, ground_clearance(self.frame, self.ground),
            self.config.max_range_m, step,
        )
        return dirs, enu, reasons

    def ground_points(self, pixels: npt.ArrayLike) -> list[Placement]:
        """Each pixel's ray cast onto the ground."""
        px = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        if self.error:
            return [Placement(None, None, None, "none", self.error) for _ in px]
        dirs, enu, reasons = self.cast(px)
        sigma_alt = (self.config.sigma_alt_rtk_m if self.pose.rtk_flag == 50
                     else self.config.sigma_alt_m)
        sigma = flat_ground_uncertainty(
            self.height_above_ground, dirs, sigma_alt, self.config.sigma_angle_deg
        )
        geo = self.frame.to_geodetic(enu)
        out = []
        for i, reason in enumerate(reasons):
            if reason is not None:
                out.append(Placement(None, None, None, "none", reason))
                continue
            out.append(Placement(
                float(geo[i, 0]), float(geo[i, 1]), float(geo[i, 2]), "ground",
                uncertainty_m=float(sigma[i]) if np.isfinite(sigma[i]) else None,
                range_m=float(np.linalg.norm(enu[i])), camera=self.camera,
            ))
        return out

    # --- the line ------------------------------------------------------------------------

    def tower_table(self, ledger: Ledger) -> TowerTable:
        """The ledger's towers near this photo, in its frame, converted in one PROJ call: (foot
        ENU, foot height, top height) by (line, tower). The foot is the ledger's ground
        elevation, else this photo's ground under the tower; the top adds the ledger's height,
        else ``default_tower_height_m``."""
        if self._towers is not None and self._towers[0] is ledger:
            return self._towers[1]
        towers = ledger.towers
        lat = np.array([t.lat for t in towers])
        lon = np.array([t.lon for t in towers])
        base = np.array([np.nan if t.ground_elev is None else t.ground_elev for t in towers])
        missing = np.isnan(base)
        if missing.any():
            base[missing] = self.ground.elevation(lat[missing], lon[missing])
            # off the DEM: assume the ground under the camera
            base[np.isnan(base)] = self.cam_alt - self.height_above_ground
        feet = self.frame.to_enu(lat, lon, base)
        # only towers that can matter to this photo: within range, plus a long span's length
        reach = self.config.max_range_m + MAX_SPAN_M
        table = {}
        for t, foot in zip(towers, feet, strict=True):
            if not float(np.hypot(foot[0], foot[1])) <= reach:
                continue
            height = t.height or self.config.default_tower_height_m
            table[(t.line, t.tower)] = (foot, float(foot[2]), float(foot[2] + height))
        self._towers = (ledger, table)
        return table

    def on_tower(self, pixel: tuple[float, float], ledger: Ledger) -> Placement | None:
        """The tower whose axis the pixel's ray passes closest to, if within the limit; placed
        where the ray crosses that tower's cross-arm plane (:func:`cross_arm_point`), or where
        it passes the axis for a lone tower (no line direction). The point is kept on the ray
        (nearest to its in-plane point when that was clamped to the arms' span): merging
        rebuilds each view's ray from the camera and the placed point. A ray whose in-plane
        point lies behind the camera (a camera beside the tower looking away from it, nearest
        the axis at the camera itself) is not put on the tower."""
        if self.error:
            return None
        d = self.rays([pixel])
        table = self.tower_table(ledger)
        best: tuple[float, float, float, Tower, FloatArray] | None = None
        for tower in ledger.towers:
            entry = table.get((tower.line, tower.tower))
            if entry is None:
                continue
            foot, z0, z1 = entry
            if np.linalg.norm(foot[:2]) > self.config.max_range_m:
                continue
            dist, t, z = ray_to_vertical_axis(self.origin, d, foot[:2], (z0, z1 + 5.0))
            if best is None or dist[0] < best[0]:
                best = (float(dist[0]), float(t[0]), float(z[0]), tower, foot)
        if best is None or best[0] > self.config.tower_max_distance_m:
            return None
        best_dist, along_ray, _, tower, foot = best
        axis, along = tower_axis(ledger, tower, self.frame)
        if along is not None:
            z_range = (float(foot[2]), table[(tower.line, tower.tower)][2] + 5.0)
            solved = cross_arm_point(self.origin[None], d, axis, along,
                                     self.config.arm_half_span_m, z_range)
            if solved is None:  # the arms' plane is behind: the ray leads away from the tower
                return None
            along_ray = float((solved[0] - self.origin) @ d[0])
        point = self.origin + along_ray * d[0]
        lat, lon, alt = (float(v) for v in self.frame.to_geodetic(point[None])[0])
        return Placement(
            lat, lon, alt, "tower", line=tower.line, tower=tower.tower,
            range_m=float(np.linalg.norm(point)), tower_distance_m=best_dist,
            uncertainty_m=None, camera=self.camera,
        )

    def on_span(self, pixel: tuple[float, float], ledger: Ledger) -> Placement | None:
        """Where the pixel's ray crosses the vertical "curtain" of a span, nearest first.

        A steep view of a conductor beside the span's centre plane crosses that plane far below
        the conductor (or under the ground); such a ray is still given to the span when, at
        the height of the conductors (``CONDUCTOR_HEIGHT_FRACTION`` of the towers' height), it
        passes within twice ``span_margin_m`` of the span's centre line — and placed there (see
        :meth:`_steep_span_point` for when that applies).
        """
        if self.error:
            return None
        d = self.rays([pixel])
        margin = self.config.span_margin_m
        table = self.tower_table(ledger)
        best: tuple[float, Span, FloatArray] | None = None
        steep: tuple[float, Span, FloatArray] | None = None
        for span in ledger.spans:
            end_a = table.get((span.a.line, span.a.tower))
            end_b = table.get((span.b.line, span.b.tower))
            if end_a is None or end_b is None:
                continue
            (fa, za0, za1), (fb, zb0, zb1) = end_a, end_b
            near = self._steep_span_point(d[0], fa, fb, (za0 + zb0) / 2, (za1 + zb1) / 2)
            if near is not None and (steep is None or near[0] < steep[0]):
                steep = (near[0], span, near[1])
            t, s, z = ray_curtain_hit(self.origin, d, fa[:2], fb[:2])
            if not np.isfinite(t[0]) or t[0] > self.config.max_range_m:
                continue
            # a ray that grazes the plane (a camera above the line looking down or along it)
            # crosses it anywhere: such views are left to the conductor-height rule below
            seg = fb[:2] - fa[:2]
            normal = np.array([-seg[1], seg[0]]) / (float(np.linalg.norm(seg)) or 1.0)
            if abs(float(d[0, :2] @ normal)) < np.sin(np.radians(MIN_CURTAIN_ANGLE_DEG)):
                continue
            length = float(np.linalg.norm(fb[:2] - fa[:2])) or 1.0
            slack = margin / length
            if not -slack <= s[0] <= 1 + slack:
                continue
            # conductors hang above the ground: a crossing below the towers' feet is a steep
            # view of a conductor beside the centre plane (the rule below), not the conductor
            if not min(za0, zb0) <= z[0] <= max(za1, zb1) + margin:
                continue
            if best is None or t[0] < best[0]:
                best = (float(t[0]), span, self.origin + t[0] * d[0])
        if best is None and steep is not None:
            best = (float(np.linalg.norm(steep[2])), steep[1], steep[2])
        if best is None:
            return None
        best_t, span, point = best
        lat, lon, alt = self.frame.to_geodetic(point[None, :])[0]
        return Placement(float(lat), float(lon), float(alt), "span", line=span.line,
                         span=span.name, range_m=best_t, camera=self.camera)

    def _steep_span_point(
        self, d: FloatArray, fa: FloatArray, fb: FloatArray, foot: float, top: float
    ) -> tuple[float, FloatArray] | None:
        """(lateral miss, point) of a steep ray at conductor height beside a span.

        Only for a camera at least 5 m above the conductors looking at least 30° down: from
        lower or flatter views the height of the conductors says little about where along the
        ray the object is.
        """
        height = foot + CONDUCTOR_HEIGHT_FRACTION * (top - foot)
        if d[2] > -np.sin(np.radians(30.0)) or height > self.origin[2] - 5.0:
            return None
        t = (height - self.origin[2]) / d[2]
        if t > self.config.max_range_m:
            return None
        point = self.origin + t * d
        seg = fb[:2] - fa[:2]
        length2 = float(seg @ seg)
        if length2 == 0.0:
            return None
        s = float((point[:2] - fa[:2]) @ seg) / length2
        if not 0.0 <= s <= 1.0:
            return None
        miss = float(point_segment_distance_2d(point[:2], fa[:2], fb[:2])[0])
        if miss > 2 * self.config.span_margin_m:
            return None
        return miss, point


def tower_axis(
    ledger: Ledger, tower: Tower, frame: LocalFrame
) -> tuple[FloatArray, FloatArray | None]:
    """A tower's axis (horizontal ENU in ``frame``) and the line's direction there (None for a
    lone tower): what :func:`linepatrol.geo.camera.cross_arm_point` needs."""
    before, after = ledger.neighbours(tower)
    towers = (before or tower, tower, after or tower)
    enu = frame.to_enu([t.lat for t in towers], [t.lon for t in towers], 0.0)[:, :2]
    return enu[1], line_direction(enu[0] if before else None, enu[1], enu[2] if after else None)


def locate_pixels(pose: CameraPose, pixels: npt.ArrayLike, config: GeoConfig | None = None,
                  ground: Ground | None = None) -> list[Placement]:
    """Ground positions of ``pixels`` (x, y) in a photo with ``pose`` — what ``geo locate`` does."""
    config = config or GeoConfig()
    return PhotoGeometry(pose, config, ground or make_ground(config)).ground_points(pixels)


def make_ground(config: GeoConfig) -> Ground | None:
    """The configured ground model; None for take-off ground (it differs per photo)."""
    if config.dem_path is not None:
        return DemGround(Path(config.dem_path))
    if config.ground_alt is not None:
        return FlatGround(float(config.ground_alt))
    return None


DEFAULT_HALF_DEPTH_M = 2.0  # ground objects whose class gives none (taxonomy)
FOOTPRINT_SIGMA_ALONG_M = 2.0  # 1σ along the view: the foot's pixel and the depth prior
FOOTPRINT_STEEP_DEG = 60.0  # views steeper than this fix the base less well along the view


def footprint_anchor(
    geom: PhotoGeometry, key: str, box: tuple[float, float, float, float], cut: bool = False
) -> tuple[tuple[float, float], tuple[float, float, float]] | None:
    """The pixel to place for a machine on the ground, and how well one view fixes it.

    ``box`` in the pose's pixel-centre coordinates. The box's foot (the side facing the nadir
    point, :func:`linepatrol.geo.camera.nadir_side_point`) is the near side of the machine's
    footprint; projected to the ground and moved away from the camera by half the class's
    footprint depth (``taxonomy.ClassInfo.footprint_half_depth_m``) it is the machine's base,
    whatever its boom does. The box centre, or a point between foot and centre, lands beyond a
    crane in an oblique view (its boom fills the box) and on the jib in a view straight down.

    Covariance (m², ENU east-east, east-north, north-north): along the view (camera to base,
    horizontally) ``FOOTPRINT_SIGMA_ALONG_M``, growing in views steeper than
    ``FOOTPRINT_STEEP_DEG`` to the box's size / √12 straight down (there a jib or a boom swung
    towards the camera overhangs the foot on the nadir side); across it the box's width at that
    range as if the base could be anywhere across the box (σ = width / √12): a slewed boom or a
    jib widens the box on one side. A box cut by the image border (``cut``) may have lost its
    foot: σ is then the box's larger side at that range, in every direction. None when the
    foot's ray misses the ground.
    """
    foot = nadir_side_point(geom.pose.intrinsics, geom.rotation, box)
    _, enu, reasons = geom.cast([foot])
    if reasons[0] is not None:
        return None
    base = enu[0]
    horizontal = float(np.hypot(base[0], base[1]))
    along = base[:2] / horizontal if horizontal > 1.0 else np.zeros(2)
    info = taxonomy.BY_KEY.get(key)
    depth = (info.footprint_half_depth_m if info else None) or DEFAULT_HALF_DEPTH_M
    centre = base + depth * np.array([along[0], along[1], 0.0])
    pixel = project_world_to_pixel(geom.pose.intrinsics, geom.rotation, geom.origin, centre)[0]
    if not np.all(np.isfinite(pixel)):
        pixel = np.asarray(foot)
    # the box's extent across the view, in pixels, then metres at the foot's range
    x0, y0, x1, y1 = box
    to_foot = np.array([foot[0] - (x0 + x1) / 2, foot[1] - (y0 + y1) / 2])
    norm = float(np.linalg.norm(to_foot))
    perp = np.array([-to_foot[1], to_foot[0]]) / norm if norm > 1e-9 else np.array([1.0, 0.0])
    corners = np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]]) @ perp
    metres_per_px = float(np.linalg.norm(base)) / geom.pose.fx
    width_m = float(corners.max() - corners.min()) * metres_per_px
    sigma_along = FOOTPRINT_SIGMA_ALONG_M
    sigma_across = max(sigma_along, width_m / np.sqrt(12.0))
    # steep views: what overhangs the base (a jib, a boom swung towards the camera, a smoke
    # plume's wide upper puffs) lies between it and the nadir point, so the foot may be the
    # overhang's: from FOOTPRINT_STEEP_DEG down to straight down, σ along grows to the box's
    # size / √12, as across
    depression = float(np.degrees(np.arctan2(-base[2], horizontal)))
    t = float(np.clip((depression - FOOTPRINT_STEEP_DEG) / (90.0 - FOOTPRINT_STEEP_DEG), 0, 1))
    size_sigma = max(sigma_along, max(x1 - x0, y1 - y0) * metres_per_px / np.sqrt(12.0))
    sigma_along = float(np.sqrt((1 - t) * sigma_along**2 + t * size_sigma**2))
    if cut:
        sigma_along = sigma_across = max(sigma_across, max(x1 - x0, y1 - y0) * metres_per_px)
    if horizontal > 1.0:
        across = np.array([-along[1], along[0]])
        cov = sigma_along**2 * np.outer(along, along) + sigma_across**2 * np.outer(across, across)
    else:  # straight over it: no "along"
        cov = sigma_across**2 * np.eye(2)
    return (float(pixel[0]), float(pixel[1])), (float(cov[0, 0]), float(cov[0, 1]),
                                                 float(cov[1, 1]))


def _touches_border(xyxy: FloatArray, width: int | None, height: int | None) -> bool:
    x0, y0, x1, y1 = (float(v) for v in xyxy)
    edge = x0 <= 1.0 or y0 <= 1.0
    if width:
        edge = edge or x1 >= width - 1.0
    if height:
        edge = edge or y1 >= height - 1.0
    return edge


def place_detections(
    obs: Observation, ledger: Ledger | None, config: GeoConfig, ground: Ground | None = None
) -> list[tuple[str, Evidence]]:
    """(class key, evidence) for each reportable detection of one photo, placed."""
    dets = obs.detections
    rows: list[tuple[str, Evidence]] = []
    if not len(dets):
        return rows
    geom = PhotoGeometry(obs.pose, config, ground) if obs.pose is not None else None
    # boxes in the pixels of the image the detector saw; the pose in the photo's own pixels
    sx = sy = 1.0
    if obs.pose is not None and obs.width and obs.height:
        sx, sy = obs.pose.width / obs.width, obs.pose.height / obs.height
    keys = dets.class_keys
    for i, key in enumerate(keys):
        info = taxonomy.BY_KEY.get(key)
        if info is not None and info.category is taxonomy.Category.COMPONENT and not (
            config.include_components
        ):
            continue
        on_line = bool(info and info.on_line)
        xyxy = dets.xyxy[i].astype(np.float64)
        x0, y0, x1, y1 = (float(v) for v in xyxy)
        in_pose = (x0 * sx - 0.5, y0 * sy - 0.5, x1 * sx - 0.5, y1 * sy - 0.5)  # pixel centres
        pixel = ((in_pose[0] + in_pose[2]) / 2, (in_pose[1] + in_pose[3]) / 2)
        width = obs.width or (obs.pose.width if obs.pose else None)
        height = obs.height or (obs.pose.height if obs.pose else None)
        clipped = _touches_border(xyxy, width, height)
        footprint = None
        if not on_line and geom is not None and not geom.error:
            footprint = footprint_anchor(geom, key, in_pose, clipped)
            if footprint is not None:
                pixel = footprint[0]
        placement = _place_one(geom, obs, pixel, info, ledger)
        if footprint is not None and placement.kind == "ground":
            placement = replace(placement, footprint_cov=footprint[1])
        box = (float(xyxy[0]), float(xyxy[1]), float(xyxy[2]), float(xyxy[3]))
        rows.append((key, Evidence(obs.image_id, box, float(dets.confidence[i]), pixel, placement,
                                   clipped, key)))
    return rows


def _place_one(
    geom: PhotoGeometry | None,
    obs: Observation,
    pixel: tuple[float, float],
    info: taxonomy.ClassInfo | None,
    ledger: Ledger | None,
) -> Placement:
    if geom is None:
        return Placement(None, None, None, "none", obs.pose_error or "no camera pose")
    if geom.error:
        return Placement(None, None, None, "none", geom.error)
    note = None
    if info is not None and info.on_line:
        if ledger is None:
            note = "on the line but no tower ledger: projected to the ground under it"
        else:
            placed = geom.on_span(pixel, ledger) if info.on_conductor else None
            placed = placed or geom.on_tower(pixel, ledger)
            if placed is not None:
                return placed
            note = "no ledger tower or span near the viewing ray: projected to the ground"
    ground = geom.ground_points([pixel])[0]
    if note and ground.lat is not None:
        return Placement(ground.lat, ground.lon, ground.alt, "ground", note,
                         ground.uncertainty_m, ground.range_m, camera=ground.camera)
    return ground
