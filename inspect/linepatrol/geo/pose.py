"""A photo's camera pose: where the camera was, where it looked, and its intrinsics.

Read from EXIF (through exifread) and DJI's XMP ``drone-dji:`` fields (through
:mod:`linepatrol.geo.dji_meta`, parsed with defusedxml). Anything missing, garbled or hostile
becomes a :class:`PoseError` whose ``reason`` says what, never another exception.

Assumptions, in one place:

* Position: ``drone-dji:GpsLatitude/GpsLongitude`` (more digits) win over EXIF GPS; (0, 0) is
  DJI's "no fix" and counts as missing.
* Orientation: the *gimbal's* yaw, pitch and roll (the aircraft's yaw is recorded but not used:
  the gimbal turns independently of the airframe).
* Altitudes: ``RelativeAltitude`` is above the take-off point (barometric).
  ``AbsoluteAltitude``'s datum is ambiguous: DJI states that its RTK aircraft (RtkFlag 50 =
  fixed solution) write WGS84 ellipsoidal height, while without RTK the value comes from GNSS /
  barometer and is treated as mean-sea-level (EGM96) height. ``altitude_datum`` records which
  was assumed ("ellipsoid" or "egm96"), or "exif" when only EXIF GPSAltitude was there (EXIF
  defines it above sea level). LinePatrol never converts between datums (no geoid grid is
  shipped or downloaded): ground elevations you give (``--ground-alt``, ledger, DEM) must be in
  the same datum as the photos, and output altitudes are in that datum too.
* Intrinsics: ``CalibratedFocalLength`` (pixels) and ``CalibratedOpticalCenterX/Y`` (pixels
  from the top-left corner) when present, scaled when they are for a larger image; else EXIF
  FocalLength with FocalPlaneXResolution; else FocalLengthIn35mmFilm (over the 43.27 mm
  full-frame diagonal); principal point at the image centre when not calibrated.
* Lens distortion: only when DJI says the photo was *not* dewarped (``DewarpFlag`` 0) and
  gives ``DewarpData`` ("date;fx,fy,cx,cy,k1,k2,p1,p2,k3", cx/cy as offsets from the optical
  centre): then those fx, fy, centre and OpenCV coefficients are the camera.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from linepatrol.geo.camera import Intrinsics, rotation_camera_to_enu

FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)
# A pose file larger than this is not a photo a drone wrote; refuse before reading it all.
MAX_FILE_BYTES = 512 * 1024 * 1024
_ORIENTATION_TAG = 0x0112


class PoseError(ValueError):
    """The photo's metadata cannot give a usable camera pose; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CameraPose:
    """Everything needed to turn a pixel into a ray on the Earth.

    Angles in degrees with DJI's conventions (see :mod:`linepatrol.geo.camera`); ``abs_alt`` in
    ``altitude_datum``; ``rel_alt`` above the take-off point. ``fx``/``fy``/``cx``/``cy`` in
    pixels of the full ``width`` x ``height`` image.
    """

    lat: float
    lon: float
    abs_alt: float | None
    rel_alt: float | None
    yaw: float
    pitch: float
    roll: float
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    altitude_datum: str = "egm96"
    flight_yaw: float | None = None
    rtk_flag: int | None = None
    intrinsics_source: str = "calibrated"
    make: str | None = None
    model: str | None = None
    lrf: Mapping[str, float] = field(default_factory=dict)  # laser rangefinder, when present
    distortion: tuple[float, float, float, float, float] | None = None  # OpenCV k1 k2 p1 p2 k3

    @property
    def intrinsics(self) -> Intrinsics:
        return Intrinsics(self.fx, self.fy, self.cx, self.cy, self.width, self.height,
                          self.distortion)

    @property
    def rotation(self) -> Any:
        """Camera-to-ENU rotation (3x3 numpy array)."""
        return rotation_camera_to_enu(self.yaw, self.pitch, self.roll)

    @property
    def takeoff_alt(self) -> float | None:
        """Take-off point's altitude (in ``altitude_datum``): absolute minus relative altitude."""
        if self.abs_alt is None or self.rel_alt is None:
            return None
        return self.abs_alt - self.rel_alt

    def to_json(self) -> dict[str, Any]:
        """The pose as plain JSON values (numpy scalars as numbers, tuples as lists): the
        service stores it in a JSON column."""
        out = asdict(self)
        out["lrf"] = dict(self.lrf)
        out["takeoff_alt"] = self.takeoff_alt
        plain: dict[str, Any] = _plain(out)
        return plain

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CameraPose:
        """The pose :meth:`to_json` wrote (derived keys such as ``takeoff_alt`` are ignored);
        ``ValueError`` when ``data`` is not one."""
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        if isinstance(kwargs.get("distortion"), list):
            kwargs["distortion"] = tuple(kwargs["distortion"])
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ValueError(f"not a stored camera pose: {exc}") from None


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


# --- reading -------------------------------------------------------------------------------


def read_pose(source: str | Path | bytes) -> CameraPose:
    """The camera pose of a photo (path or its bytes); :class:`PoseError` when it has none."""
    data = _read_bytes(source)
    from linepatrol.geo import dji_meta

    exif = _read_exif(data)
    try:
        xmp = dji_meta.read_dji_xmp(data)
    except dji_meta.XmpError as exc:
        raise PoseError(exc.reason) from None
    width, height = _image_size(data, exif)
    return pose_from_metadata(exif, xmp, width, height)


def read_pose_or_reason(source: str | Path | bytes) -> tuple[CameraPose | None, str | None]:
    """The photo's camera pose, or the reason it has none: never raises for bad metadata, so
    a photo without a pose still keeps its detections."""
    try:
        return read_pose(source), None
    except PoseError as exc:
        return None, exc.reason


def _read_bytes(source: str | Path | bytes) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise PoseError(f"file is {size} bytes, more than a photo ({MAX_FILE_BYTES})")
        return path.read_bytes()
    except OSError as exc:
        raise PoseError(f"cannot read {path}: {exc.strerror or exc}") from None


def _read_exif(data: bytes) -> dict[str, Any]:
    """EXIF tags by exifread name (``GPS GPSLatitude`` ...): a str, a number or a list.

    Rationals stay exifread ``Ratio`` objects (numerator/denominator), so that a zero
    denominator is seen as garbage; exifread's ``builtin_types`` would turn 30/0 into 30.
    """
    import exifread

    try:
        tags = exifread.process_file(io.BytesIO(data), details=False, extract_thumbnail=False)
    except Exception as exc:  # exifread raises many types on garbled input; none is fatal here
        raise PoseError(f"unreadable EXIF: {type(exc).__name__}: {exc}") from None
    out: dict[str, Any] = {}
    for name, tag in (tags or {}).items():
        values = getattr(tag, "values", None)
        if isinstance(values, list):
            out[name] = values[0] if len(values) == 1 else list(values)
        elif values is not None:
            out[name] = values
    return out


def _image_size(data: bytes, exif: Mapping[str, Any]) -> tuple[int, int]:
    """Pixel size from the image header (Pillow reads the header only, no pixels)."""
    from PIL import Image

    orientation: int | None = None
    try:
        # garbled EXIF makes Pillow warn; our own reasons say enough
        with warnings.catch_warnings(action="ignore"), Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            # exifread prints Orientation as words; Pillow gives the number
            orientation = _as_int(im.getexif().get(_ORIENTATION_TAG))
    except Exception:  # not an image Pillow knows, or a decompression bomb: fall back to EXIF
        exif_w = _as_int(exif.get("EXIF ExifImageWidth"))
        exif_h = _as_int(exif.get("EXIF ExifImageLength"))
        if not exif_w or not exif_h:
            raise PoseError("cannot read the image size (not a readable photo)") from None
        width, height = exif_w, exif_h
    if orientation not in (None, 1):
        raise PoseError(
            f"EXIF Orientation {orientation} rotates the photo; geotagging rotated photos is "
            "not supported (DJI cameras write 1)"
        )
    return int(width), int(height)


def pose_from_metadata(
    exif: Mapping[str, Any], xmp: Mapping[str, str], width: int, height: int
) -> CameraPose:
    """Combine EXIF tags (exifread names) and drone-dji XMP fields into a pose."""
    if width <= 0 or height <= 0:
        raise PoseError(f"image size {width}x{height} is not usable")
    lat, lon = _position(exif, xmp)
    yaw = _xmp_float(xmp, "GimbalYawDegree", -360.0, 360.0)
    pitch = _xmp_float(xmp, "GimbalPitchDegree", -180.0, 180.0)
    roll = _xmp_float(xmp, "GimbalRollDegree", -180.0, 180.0)
    if yaw is None or pitch is None:
        named = (("GimbalYawDegree", yaw), ("GimbalPitchDegree", pitch))
        missing = [n for n, v in named if v is None]
        raise PoseError("no camera orientation: drone-dji:" + ", ".join(missing) + " missing")
    if not -180.0 <= yaw <= 180.0:
        yaw = (yaw + 180.0) % 360.0 - 180.0
    rtk = _xmp_float(xmp, "RtkFlag", 0, 255, strict=False)
    abs_alt = _xmp_float(xmp, "AbsoluteAltitude", -1000.0, 20000.0)
    datum = "ellipsoid" if rtk == 50 else "egm96"
    if abs_alt is None:
        abs_alt = _exif_altitude(exif)
        datum = "exif" if abs_alt is not None else "unknown"
    rel_alt = _xmp_float(xmp, "RelativeAltitude", -1000.0, 20000.0)
    fx, fy, cx, cy, source = _intrinsics(exif, xmp, width, height)
    distortion = None
    dewarp = _dewarp(xmp, cx, cy, fx)
    if dewarp is not None:
        fx, fy, cx, cy, distortion = dewarp
        source += "+dewarp_data"
    lrf = {
        k: v
        for k in ("LRFStatus", "LRFTargetDistance", "LRFTargetLon", "LRFTargetLat",
                  "LRFTargetAlt", "LRFTargetAbsAlt")
        if (v := _xmp_float(xmp, k, -1e7, 1e7, strict=False)) is not None
    }
    return CameraPose(
        lat=lat, lon=lon, abs_alt=abs_alt, rel_alt=rel_alt,
        yaw=yaw, pitch=pitch, roll=roll or 0.0,
        fx=fx, fy=fy, cx=cx, cy=cy, width=width, height=height,
        altitude_datum=datum,
        flight_yaw=_xmp_float(xmp, "FlightYawDegree", -360.0, 360.0, strict=False),
        rtk_flag=int(rtk) if rtk is not None else None,
        intrinsics_source=source,
        make=_as_str(exif.get("Image Make")), model=_as_str(exif.get("Image Model")),
        lrf=lrf, distortion=distortion,
    )


def _position(exif: Mapping[str, Any], xmp: Mapping[str, str]) -> tuple[float, float]:
    # DJI spells these GPSLatitude on some models, and "GpsLongtitude" on some firmware
    lat = _first_float(xmp, ("GpsLatitude", "GPSLatitude"), -90.0, 90.0)
    lon = _first_float(xmp, ("GpsLongitude", "GPSLongitude", "GpsLongtitude", "GPSLongtitude"),
                       -180.0, 180.0)
    if lat is None or lon is None:
        lat = _exif_degrees(exif, "GPS GPSLatitude", "GPS GPSLatitudeRef", "NS", 90.0)
        lon = _exif_degrees(exif, "GPS GPSLongitude", "GPS GPSLongitudeRef", "EW", 180.0)
    if lat is None or lon is None:
        raise PoseError("no GPS position (neither drone-dji:GpsLatitude/Longitude nor EXIF GPS)")
    if lat == 0.0 and lon == 0.0:
        raise PoseError("GPS position is 0, 0 (the aircraft had no satellite fix)")
    return lat, lon


def _dewarp(
    xmp: Mapping[str, str], cx: float, cy: float, f_calibrated: float
) -> tuple[float, float, float, float, tuple[float, float, float, float, float]] | None:
    """(fx, fy, cx, cy, distortion) from DewarpData, for a photo DJI did not dewarp."""
    flag = _xmp_float(xmp, "DewarpFlag", 0, 1, strict=False)
    raw = xmp.get("DewarpData")
    if flag != 0 or not raw:
        return None
    _, _, numbers = raw.partition(";")
    try:
        values = [float(v) for v in numbers.split(",")]
    except ValueError:
        raise PoseError(f"drone-dji:DewarpData is not 9 numbers: {raw[:60]!r}") from None
    if len(values) != 9 or not all(math.isfinite(v) for v in values):
        raise PoseError(f"drone-dji:DewarpData is not 9 numbers: {raw[:60]!r}")
    fx, fy, dx, dy, k1, k2, p1, p2, k3 = values
    if not (0 < fx < 1e6 and 0 < fy < 1e6):
        raise PoseError(f"drone-dji:DewarpData focal lengths {fx}, {fy} are not usable")
    # DewarpData is for the same full-size image as CalibratedFocalLength: scale with it
    scale = 1.0
    f_raw = _xmp_float(xmp, "CalibratedFocalLength", 1.0, 1e6, strict=False)
    if f_raw:
        scale = f_calibrated / f_raw
    return fx * scale, fy * scale, cx + dx * scale, cy + dy * scale, (k1, k2, p1, p2, k3)


def _intrinsics(
    exif: Mapping[str, Any], xmp: Mapping[str, str], width: int, height: int
) -> tuple[float, float, float, float, str]:
    centre_x, centre_y = (width - 1) / 2.0, (height - 1) / 2.0
    f_px = _xmp_float(xmp, "CalibratedFocalLength", 1.0, 1e6)
    if f_px is not None:
        cx = _xmp_float(xmp, "CalibratedOpticalCenterX", 0.0, 1e6)
        cy = _xmp_float(xmp, "CalibratedOpticalCenterY", 0.0, 1e6)
        if cx is None or cy is None:
            return f_px, f_px, centre_x, centre_y, "calibrated"
        # DJI's calibration is for the sensor's full-size image, its centre near (W/2, H/2).
        # A photo saved smaller (a lower-resolution mode, or resized keeping its XMP) shows
        # it as a centre far off: scale the calibration to this image's size.
        scale = (width / 2.0) / cx if cx > 0 else 1.0
        if abs(scale - 1.0) > 0.2 and abs(cy * scale - height / 2.0) < 0.2 * height:
            return f_px * scale, f_px * scale, cx * scale, cy * scale, "calibrated_scaled"
        if not (0.0 <= cx <= width and 0.0 <= cy <= height):
            raise PoseError(
                f"drone-dji:CalibratedOpticalCenter ({cx}, {cy}) lies outside the "
                f"{width}x{height} image"
            )
        return f_px, f_px, cx, cy, "calibrated"
    f_mm = _as_float(exif.get("EXIF FocalLength"))
    xres = _as_float(exif.get("EXIF FocalPlaneXResolution"))
    yres = _as_float(exif.get("EXIF FocalPlaneYResolution"))
    unit = _as_int(exif.get("EXIF FocalPlaneResolutionUnit")) or 2
    unit_mm = {2: 25.4, 3: 10.0, 4: 1.0}.get(unit)
    if f_mm and f_mm > 0 and xres and xres > 0 and unit_mm:
        fx = f_mm * xres / unit_mm
        fy = f_mm * (yres if yres and yres > 0 else xres) / unit_mm
        return fx, fy, centre_x, centre_y, "exif_focal_plane"
    f35 = _as_float(exif.get("EXIF FocalLengthIn35mmFilm"))
    if f35 and f35 > 0:
        f = f35 / FULL_FRAME_DIAGONAL_MM * math.hypot(width, height)
        return f, f, centre_x, centre_y, "exif_35mm_equivalent"
    raise PoseError(
        "no camera intrinsics: neither drone-dji:CalibratedFocalLength, EXIF FocalLength with "
        "FocalPlaneXResolution, nor FocalLengthIn35mmFilm"
    )


# --- value parsing: every garbled value becomes None or a PoseError, never a crash ------------


def _xmp_float(
    xmp: Mapping[str, str], key: str, lo: float, hi: float, strict: bool = True
) -> float | None:
    """A drone-dji field as a float in [lo, hi]; None when absent.

    ``strict``: a present but garbled or out-of-range value is a :class:`PoseError` (the photo's
    metadata lies, so no position derived from it can be trusted); otherwise it is ignored.
    """
    raw = xmp.get(key)
    if raw is None:
        return None
    try:
        value = float(str(raw).strip()[:64])
    except ValueError:
        if strict:
            raise PoseError(f"drone-dji:{key} is not a number: {str(raw)[:40]!r}") from None
        return None
    if not math.isfinite(value) or not lo <= value <= hi:
        if strict:
            raise PoseError(f"drone-dji:{key} = {value} is outside [{lo}, {hi}]")
        return None
    return value


def _first_float(
    xmp: Mapping[str, str], keys: tuple[str, ...], lo: float, hi: float
) -> float | None:
    for key in keys:
        value = _xmp_float(xmp, key, lo, hi)
        if value is not None:
            return value
    return None


def _as_float(value: Any) -> float | None:
    if isinstance(value, list | tuple):
        value = value[0] if len(value) == 1 else None
    if value is None or isinstance(value, bool):
        return None
    try:
        if hasattr(value, "denominator") and not isinstance(value, int):
            out = float(value.numerator) / float(value.denominator)
        else:
            out = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return out if math.isfinite(out) else None


def _as_int(value: Any) -> int | None:
    f = _as_float(value)
    return int(f) if f is not None and f.is_integer() else None


def _as_str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = str(value).strip().strip("\x00")
    return text[:64] or None


def _exif_degrees(
    exif: Mapping[str, Any], key: str, ref_key: str, refs: str, limit: float
) -> float | None:
    raw = exif.get(key)
    if not isinstance(raw, list | tuple) or len(raw) != 3:
        return None
    parts = [_as_float(v) for v in raw]
    if any(p is None for p in parts):
        return None
    deg, minutes, sec = (float(p) for p in parts if p is not None)
    value = deg + minutes / 60.0 + sec / 3600.0
    ref = _as_str(exif.get(ref_key)) or refs[0]
    if ref.upper().startswith(refs[1]):
        value = -value
    return value if abs(value) <= limit else None


def _exif_altitude(exif: Mapping[str, Any]) -> float | None:
    alt = _as_float(exif.get("GPS GPSAltitude"))
    if alt is None or not -1000.0 <= alt <= 20000.0:
        return None
    ref = _as_int(exif.get("GPS GPSAltitudeRef"))
    if ref is None:
        raw = exif.get("GPS GPSAltitudeRef")
        ref = raw[0] if isinstance(raw, bytes) and raw else 0
    return -alt if ref == 1 else alt
