"""DJI photo metadata: reading the ``drone-dji:`` XMP fields safely, and writing realistic ones.

Reading: Pillow finds the XMP packet (JPEG APP1 or TIFF tag 700) without decoding pixels;
defusedxml parses it with DTDs and entities forbidden, so an "XML bomb" in a photo is refused,
not expanded. Packets larger than :data:`MAX_XMP_BYTES` are refused before parsing.

Writing (:func:`write_dji_metadata`): EXIF through piexif, plus an XMP APP1 segment laid out as
DJI cameras lay it out, so tests, the synthetic-scene generator and the service's tests can make
photos that look to every reader like a DJI inspection photo.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import ParseError

if TYPE_CHECKING:
    from linepatrol.geo.pose import CameraPose

DJI_NAMESPACE = "http://www.dji.com/drone-dji/1.0/"
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
# One JPEG APP1 segment holds at most 65 502 bytes of XMP; TIFF packets are not bounded by the
# format, so anything beyond this is not a camera's packet.
MAX_XMP_BYTES = 1024 * 1024
MAX_FIELD_CHARS = 256
MAX_FIELDS = 2000


class XmpError(ValueError):
    """An XMP packet that is refused (too large, not XML, DTD or entities); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- reading -------------------------------------------------------------------------------


def extract_xmp(data: bytes) -> bytes | None:
    """The raw XMP packet of a JPEG/TIFF, or None when it has none (or is not an image)."""
    from PIL import Image

    try:
        with warnings.catch_warnings(action="ignore"), Image.open(io.BytesIO(data)) as im:
            packet = im.info.get("xmp")
    except Exception:  # not an image, truncated header, decompression bomb: no XMP to read
        return None
    if isinstance(packet, str):
        packet = packet.encode("utf-8")
    return packet if isinstance(packet, bytes) and packet else None


def parse_dji_xmp(packet: bytes) -> dict[str, str]:
    """``drone-dji:`` fields of an XMP packet, as strings by local name (``GimbalYawDegree``...).

    DJI writes them as attributes of ``rdf:Description``; other writers (exiftool) may write them
    as child elements. Both are read. Raises :class:`XmpError` for a refused packet.
    """
    import defusedxml.ElementTree as safe_et
    from defusedxml import DefusedXmlException

    if len(packet) > MAX_XMP_BYTES:
        raise XmpError(f"XMP packet is {len(packet)} bytes (limit {MAX_XMP_BYTES}); refused")
    try:
        root = safe_et.fromstring(packet, forbid_dtd=True, forbid_entities=True,
                                  forbid_external=True)
    except DefusedXmlException as exc:
        raise XmpError(f"XMP refused: {type(exc).__name__} (DTDs and entities are not allowed)"
                       ) from None
    except (ParseError, ValueError) as exc:
        raise XmpError(f"XMP is not well-formed XML: {exc}") from None
    fields: dict[str, str] = {}
    for element in root.iter():
        for name, value in element.attrib.items():
            local = _dji_local(name)
            if local:
                fields.setdefault(local, value[:MAX_FIELD_CHARS])
        local = _dji_local(element.tag) if isinstance(element.tag, str) else None
        if local and element.text and element.text.strip():
            fields.setdefault(local, element.text.strip()[:MAX_FIELD_CHARS])
        if len(fields) > MAX_FIELDS:
            raise XmpError(f"XMP has more than {MAX_FIELDS} drone-dji fields; refused")
    return fields


def _dji_local(name: str) -> str | None:
    if name.startswith("{"):
        uri, _, local = name[1:].partition("}")
        if "dji.com/drone-dji" in uri.lower():
            return local
    return None


def read_dji_xmp(data: bytes) -> dict[str, str]:
    """The ``drone-dji:`` fields of a photo; empty when it has no XMP."""
    packet = extract_xmp(data)
    return parse_dji_xmp(packet) if packet else {}


# --- writing -------------------------------------------------------------------------------


def _rational(value: float, denominator: int = 10000) -> tuple[int, int]:
    frac = Fraction(abs(value)).limit_denominator(denominator)
    return frac.numerator, frac.denominator


def _dms(value: float) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    value = abs(value)
    deg = int(value)
    minutes_f = (value - deg) * 60.0
    minutes = int(minutes_f)
    seconds = (minutes_f - minutes) * 60.0
    # DJI writes seconds with 4 decimals (~3 mm); the XMP fields carry the full precision.
    return (deg, 1), (minutes, 1), (round(seconds * 10000), 10000)


def dji_xmp_fields(pose: CameraPose) -> dict[str, str]:
    """The ``drone-dji:`` fields DJI would write for ``pose``, formatted as DJI formats them."""
    fields = {
        "GpsLatitude": f"{pose.lat:+.9f}",
        "GpsLongitude": f"{pose.lon:+.9f}",
        "GimbalRollDegree": f"{pose.roll:+.2f}",
        "GimbalYawDegree": f"{pose.yaw:+.2f}",
        "GimbalPitchDegree": f"{pose.pitch:+.2f}",
        "FlightYawDegree": f"{(pose.flight_yaw if pose.flight_yaw is not None else pose.yaw):+.2f}",
        "FlightPitchDegree": "+0.00",
        "FlightRollDegree": "+0.00",
        "CalibratedFocalLength": f"{pose.fx:.6f}",
        "CalibratedOpticalCenterX": f"{pose.cx:.6f}",
        "CalibratedOpticalCenterY": f"{pose.cy:.6f}",
    }
    if pose.abs_alt is not None:
        fields["AbsoluteAltitude"] = f"{pose.abs_alt:+.3f}"
    if pose.rel_alt is not None:
        fields["RelativeAltitude"] = f"{pose.rel_alt:+.3f}"
    if pose.rtk_flag is not None:
        fields["RtkFlag"] = str(pose.rtk_flag)
    if pose.distortion is not None:
        # a photo taken without dewarping: the lens model, offsets from the optical centre 0
        numbers = ",".join(f"{v:.12f}" for v in (pose.fx, pose.fy, 0.0, 0.0, *pose.distortion))
        fields["DewarpData"] = f"2025-01-01;{numbers}"
        fields["DewarpFlag"] = "0"
    for key, value in pose.lrf.items():
        fields[key] = f"{value:.6f}" if key != "LRFStatus" else str(int(value))
    return fields


def build_xmp_packet(fields: Mapping[str, str]) -> bytes:
    """An XMP packet with ``fields`` as drone-dji attributes of one ``rdf:Description``."""
    from xml.sax.saxutils import quoteattr

    attrs = "\n".join(f"   drone-dji:{k}={quoteattr(str(v))}" for k, v in fields.items())
    text = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about="DJI Meta Data"\n'
        '   xmlns:tiff="http://ns.adobe.com/tiff/1.0/"\n'
        f'   xmlns:drone-dji="{DJI_NAMESPACE}"\n'
        f"{attrs}>\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    )
    return text.encode("utf-8")


def write_dji_metadata(
    jpeg_bytes: bytes,
    pose: CameraPose,
    *,
    make: str = "DJI",
    model: str = "M30T",
    gps_exif: bool = True,
    xmp: bool = True,
    omit_xmp: Iterable[str] = (),
    extra_xmp: Mapping[str, str] | None = None,
    extra_exif: Mapping[str, Mapping[int, Any]] | None = None,
    xmp_packet: bytes | None = None,
) -> bytes:
    """``jpeg_bytes`` with DJI-style EXIF (GPS, make, model) and drone-dji XMP for ``pose``.

    The pixels are not re-encoded. ``CalibratedFocalLength`` is ``pose.fx`` (DJI writes one focal
    length, square pixels). For tests: ``omit_xmp`` drops fields, ``extra_xmp`` adds or replaces
    them (any string, garbled on purpose if wanted), ``extra_exif`` merges piexif IFD dicts
    (``{"Exif": {piexif.ExifIFD.FocalLength: (45, 10)}}``), ``xmp_packet`` replaces the whole
    packet, ``gps_exif=False`` / ``xmp=False`` leave those out.
    """
    import piexif

    zeroth: dict[int, Any] = {
        piexif.ImageIFD.Make: make.encode(),
        piexif.ImageIFD.Model: model.encode(),
        piexif.ImageIFD.Orientation: 1,
    }
    exif_ifd: dict[int, Any] = {
        piexif.ExifIFD.PixelXDimension: pose.width,
        piexif.ExifIFD.PixelYDimension: pose.height,
    }
    gps: dict[int, Any] = {}
    if gps_exif:
        gps = {
            piexif.GPSIFD.GPSVersionID: (2, 3, 0, 0),
            piexif.GPSIFD.GPSLatitudeRef: b"N" if pose.lat >= 0 else b"S",
            piexif.GPSIFD.GPSLatitude: _dms(pose.lat),
            piexif.GPSIFD.GPSLongitudeRef: b"E" if pose.lon >= 0 else b"W",
            piexif.GPSIFD.GPSLongitude: _dms(pose.lon),
        }
        if pose.abs_alt is not None:
            gps[piexif.GPSIFD.GPSAltitudeRef] = 1 if pose.abs_alt < 0 else 0
            gps[piexif.GPSIFD.GPSAltitude] = _rational(pose.abs_alt, 1000)
    ifds: dict[str, dict[int, Any]] = {"0th": zeroth, "Exif": exif_ifd, "GPS": gps}
    for name, extra in (extra_exif or {}).items():
        ifds.setdefault(name, {}).update(extra)
    exif_bytes = piexif.dump({**ifds, "1st": {}, "thumbnail": None})
    out = io.BytesIO()
    piexif.insert(exif_bytes, _strip_xmp(jpeg_bytes), out)
    result = out.getvalue()
    if not xmp:
        return result
    if xmp_packet is None:
        fields = dji_xmp_fields(pose)
        for key in omit_xmp:
            fields.pop(key, None)
        fields.update(extra_xmp or {})
        xmp_packet = build_xmp_packet(fields)
    return _insert_app1(result, XMP_HEADER + xmp_packet)


def _segments(jpeg: bytes) -> Iterable[tuple[int, int, int]]:
    """(marker, start, end) of each header segment before the scan; start includes 0xFF."""
    if not jpeg.startswith(b"\xff\xd8"):
        raise ValueError("not a JPEG (no SOI marker)")
    pos = 2
    while pos + 4 <= len(jpeg):
        if jpeg[pos] != 0xFF:
            raise ValueError(f"JPEG marker expected at byte {pos}")
        marker = jpeg[pos + 1]
        if marker == 0xDA:  # start of scan: headers end here
            return
        (length,) = struct.unpack(">H", jpeg[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > len(jpeg):
            raise ValueError(f"JPEG segment at byte {pos} runs past the end of the file")
        yield marker, pos, end
        pos = end


def _strip_xmp(jpeg: bytes) -> bytes:
    parts, last = [], 0
    for marker, start, end in list(_segments(jpeg)):
        if marker == 0xE1 and jpeg[start + 4 : start + 4 + len(XMP_HEADER)] == XMP_HEADER:
            parts.append(jpeg[last:start])
            last = end
    parts.append(jpeg[last:])
    return b"".join(parts)


def _insert_app1(jpeg: bytes, payload: bytes) -> bytes:
    """Insert an APP1 segment after the leading APP0/APP1 segments (where DJI puts its XMP)."""
    if len(payload) + 2 > 0xFFFF:
        raise ValueError(f"APP1 payload of {len(payload)} bytes does not fit one JPEG segment")
    pos = 2
    for marker, _start, end in _segments(jpeg):
        if marker not in (0xE0, 0xE1):
            break
        pos = end
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:pos] + segment + jpeg[pos:]
