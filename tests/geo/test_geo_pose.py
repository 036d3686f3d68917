"""Reading camera poses from real JPEGs: DJI fields, fallbacks, and missing/garbled/hostile
metadata, which must give a PoseError with a reason and never another exception."""

from __future__ import annotations

import math

import piexif
import pytest
from geo_support import blank_jpeg, dji_jpeg_bytes, make_pose, replace
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linepatrol.geo import CameraPose, PoseError, read_pose
from linepatrol.geo.dji_meta import (
    MAX_XMP_BYTES,
    XmpError,
    build_xmp_packet,
    dji_xmp_fields,
    extract_xmp,
    parse_dji_xmp,
)

FULL = make_pose(
    lat=-33.856784123, lon=151.215297456, abs_alt=88.123, rel_alt=62.5, yaw=-123.45,
    pitch=-45.5, roll=0.3, fx=512.25, fy=512.25, cx=321.75, cy=238.25, rtk_flag=50,
    flight_yaw=-120.0, lrf={"LRFStatus": 1.0, "LRFTargetDistance": 85.25,
                            "LRFTargetLat": -33.8561, "LRFTargetLon": 151.2159},
)


def test_round_trip_of_every_field(dji_jpeg, tmp_path):
    data = dji_jpeg(FULL)
    path = tmp_path / "DJI_0001.JPG"
    path.write_bytes(data)
    for source in (data, path, str(path)):
        pose = read_pose(source)
        assert pose.lat == FULL.lat and pose.lon == FULL.lon
        assert (pose.abs_alt, pose.rel_alt) == (88.123, 62.5)
        assert (pose.yaw, pose.pitch, pose.roll) == (-123.45, -45.5, 0.3)
        assert (pose.fx, pose.fy, pose.cx, pose.cy) == (512.25, 512.25, 321.75, 238.25)
        assert (pose.width, pose.height) == (640, 480)
        assert pose.rtk_flag == 50 and pose.altitude_datum == "ellipsoid"
        assert pose.flight_yaw == -120.0
        assert pose.intrinsics_source == "calibrated"
        assert pose.make == "DJI" and pose.model == "M30T"
        assert pose.lrf["LRFTargetDistance"] == 85.25 and pose.lrf["LRFStatus"] == 1.0
        assert pose.takeoff_alt == pytest.approx(25.623)


def test_exif_is_readable_by_other_tools(dji_jpeg):
    """piexif (another reader) sees the GPS we wrote, in DMS with hemisphere references."""
    exif = piexif.load(dji_jpeg(FULL))
    gps = exif["GPS"]
    assert gps[piexif.GPSIFD.GPSLatitudeRef] == b"S" and gps[piexif.GPSIFD.GPSLongitudeRef] == b"E"
    d, m, s = (n / q for n, q in gps[piexif.GPSIFD.GPSLatitude])
    assert -(d + m / 60 + s / 3600) == pytest.approx(FULL.lat, abs=1e-7)
    assert extract_xmp(dji_jpeg(FULL)).startswith(b"<?xpacket")


def test_non_rtk_altitude_is_taken_as_egm96(dji_jpeg):
    assert read_pose(dji_jpeg(replace(FULL, rtk_flag=16))).altitude_datum == "egm96"
    assert read_pose(dji_jpeg(replace(FULL, rtk_flag=None))).altitude_datum == "egm96"


def test_exif_gps_is_used_when_xmp_has_no_position(dji_jpeg):
    pose = read_pose(dji_jpeg(FULL, omit_xmp=["GpsLatitude", "GpsLongitude", "AbsoluteAltitude"]))
    assert pose.lat == pytest.approx(FULL.lat, abs=1e-7)  # DMS seconds at 1e-4
    assert pose.lon == pytest.approx(FULL.lon, abs=1e-7)
    assert pose.abs_alt == pytest.approx(88.123) and pose.altitude_datum == "exif"
    west = replace(FULL, lon=-70.5, lat=10.25)
    pose = read_pose(dji_jpeg(west, omit_xmp=["GpsLatitude", "GpsLongitude"]))
    assert pose.lon == pytest.approx(-70.5) and pose.lat == pytest.approx(10.25)


def test_intrinsics_from_exif_focal_plane_resolution(dji_jpeg):
    # 4.5 mm lens, 1/2.3" sensor of 6.17 mm over 640 px -> 640/6.17 px/mm
    extra = {"Exif": {piexif.ExifIFD.FocalLength: (45, 10),
                      piexif.ExifIFD.FocalPlaneXResolution: (640000, 6170),
                      piexif.ExifIFD.FocalPlaneYResolution: (640000, 6170),
                      piexif.ExifIFD.FocalPlaneResolutionUnit: 4}}
    omit = ["CalibratedFocalLength", "CalibratedOpticalCenterX", "CalibratedOpticalCenterY"]
    pose = read_pose(dji_jpeg(FULL, omit_xmp=omit, extra_exif=extra))
    assert pose.intrinsics_source == "exif_focal_plane"
    assert pose.fx == pytest.approx(4.5 * 640 / 6.17)
    assert (pose.cx, pose.cy) == (319.5, 239.5)


def test_intrinsics_from_35mm_equivalent(dji_jpeg):
    omit = ["CalibratedFocalLength", "CalibratedOpticalCenterX", "CalibratedOpticalCenterY"]
    pose = read_pose(dji_jpeg(FULL, omit_xmp=omit,
                              extra_exif={"Exif": {piexif.ExifIFD.FocalLengthIn35mmFilm: 24}}))
    assert pose.intrinsics_source == "exif_35mm_equivalent"
    assert pose.fx == pytest.approx(24 / math.hypot(36, 24) * math.hypot(640, 480))


def test_no_intrinsics_at_all(dji_jpeg):
    omit = ["CalibratedFocalLength"]
    with pytest.raises(PoseError, match="no camera intrinsics"):
        read_pose(dji_jpeg(FULL, omit_xmp=omit))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"xmp": False, "gps_exif": False}, "no GPS position"),
        ({"xmp": False}, "no camera orientation"),
        ({"omit_xmp": ["GimbalPitchDegree"]}, "GimbalPitchDegree missing"),
        ({"omit_xmp": ["GpsLatitude"], "gps_exif": False}, "no GPS position"),
        ({"extra_xmp": {"GimbalYawDegree": "north-ish"}}, "GimbalYawDegree is not a number"),
        ({"extra_xmp": {"GimbalPitchDegree": "nan"}}, "GimbalPitchDegree = nan is outside"),
        ({"extra_xmp": {"GimbalPitchDegree": "1e308"}}, "is outside"),
        ({"extra_xmp": {"GpsLatitude": "95.0"}}, "GpsLatitude = 95.0 is outside"),
        ({"extra_xmp": {"GpsLatitude": "0", "GpsLongitude": "0"}}, "no satellite fix"),
        ({"extra_xmp": {"CalibratedFocalLength": "-3"}}, "CalibratedFocalLength"),
        ({"extra_xmp": {"RelativeAltitude": "inf"}}, "RelativeAltitude"),
    ],
)
def test_missing_and_garbled_fields_give_reasons(dji_jpeg, kwargs, message):
    with pytest.raises(PoseError, match=message):
        read_pose(dji_jpeg(FULL, **kwargs))


def test_plain_photo_without_metadata():
    with pytest.raises(PoseError, match="no GPS position"):
        read_pose(blank_jpeg(64, 48))


@pytest.mark.parametrize(
    "data", [b"", b"not a photo at all", b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*", b"\x00" * 100]
)
def test_files_that_are_not_photos(data):
    with pytest.raises(PoseError):
        read_pose(data)


def test_truncated_photo_still_gives_its_pose_or_a_reason(dji_jpeg):
    data = dji_jpeg(FULL)
    for cut in (10, 200, 2000, len(data) // 2):
        try:
            pose = read_pose(data[:cut])
        except PoseError as exc:
            assert exc.reason
        else:
            assert pose.lat == FULL.lat


def test_missing_file(tmp_path):
    with pytest.raises(PoseError, match="cannot read"):
        read_pose(tmp_path / "nope.jpg")


def test_rotated_photo_is_refused(dji_jpeg):
    data = dji_jpeg(FULL, extra_exif={"0th": {piexif.ImageIFD.Orientation: 6}})
    with pytest.raises(PoseError, match="Orientation 6"):
        read_pose(data)


def test_wrong_exif_types_are_ignored_not_crashed_on(dji_jpeg):
    bad = {"GPS": {piexif.GPSIFD.GPSLatitude: ((30, 0), (0, 1), (0, 1)),
                   piexif.GPSIFD.GPSAltitude: (1, 0)}}
    with pytest.raises(PoseError, match="no GPS position"):
        read_pose(dji_jpeg(FULL, omit_xmp=["GpsLatitude", "GpsLongitude"], extra_exif=bad))


# --- hostile XMP -------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" drone-dji:GimbalYawDegree="&lol4;"/>
</rdf:RDF></x:xmpmeta>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" drone-dji:GpsLatitude="&xxe;"/>
</rdf:RDF></x:xmpmeta>"""


@pytest.mark.parametrize("packet", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_entity_expansion_is_refused(dji_jpeg, packet):
    with pytest.raises(PoseError, match="XMP refused"):
        read_pose(dji_jpeg(FULL, xmp_packet=packet))


def test_malformed_xmp(dji_jpeg):
    with pytest.raises(PoseError, match="not well-formed"):
        read_pose(dji_jpeg(FULL, xmp_packet=b"<x:xmpmeta><unclosed"))


def test_huge_xmp_in_one_segment(dji_jpeg):
    """A full 64 KiB APP1 of drone-dji attributes: refused by the field count, quickly."""
    fields = dji_xmp_fields(FULL)
    fields.update({f"J{i}": "1" for i in range(2500)})
    packet = build_xmp_packet(fields)
    assert 40_000 < len(packet) < 65_000
    with pytest.raises(PoseError, match="more than 2000 drone-dji fields"):
        read_pose(dji_jpeg(FULL, xmp_packet=packet))


def test_huge_padding_and_long_values_are_bounded(dji_jpeg):
    fields = dji_xmp_fields(FULL)
    fields["SelfData"] = "x" * 30_000
    packet = build_xmp_packet(fields).replace(b"<?xpacket end", b" " * 20_000 + b"<?xpacket end")
    pose = read_pose(dji_jpeg(FULL, xmp_packet=packet))
    assert pose.yaw == FULL.yaw
    assert len(parse_dji_xmp(packet)["SelfData"]) == 256


def test_oversized_packet_is_refused_before_parsing():
    with pytest.raises(XmpError, match="refused"):
        parse_dji_xmp(b"<a>" + b" " * MAX_XMP_BYTES + b"</a>")


def test_deeply_nested_xmp_does_not_crash(dji_jpeg):
    depth = 5000
    packet = b"<a>" * depth + b"</a>" * depth
    with pytest.raises(PoseError):
        read_pose(dji_jpeg(FULL, xmp_packet=packet))


def test_fields_as_child_elements_are_read():
    packet = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
      xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description
      xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/">
      <drone-dji:GimbalYawDegree>+12.50</drone-dji:GimbalYawDegree>
      </rdf:Description></rdf:RDF></x:xmpmeta>"""
    assert parse_dji_xmp(packet) == {"GimbalYawDegree": "+12.50"}


def test_write_keeps_pixels_and_replaces_old_xmp(dji_jpeg):
    from linepatrol.images import decode_image

    once = dji_jpeg(FULL)
    twice = dji_jpeg(FULL)  # same input
    assert once == twice
    from linepatrol.geo.dji_meta import write_dji_metadata

    again = write_dji_metadata(once, replace(FULL, yaw=10.0))
    assert read_pose(again).yaw == 10.0
    assert again.count(b"http://ns.adobe.com/xap/1.0/") == 1
    assert (decode_image(again).pixels == decode_image(blank_jpeg(640, 480)).pixels).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(
    st.sampled_from(sorted(dji_xmp_fields(FULL))),
    st.one_of(st.text(max_size=30), st.floats().map(str), st.integers().map(str)),
    max_size=6,
))
def test_any_field_values_give_a_pose_or_a_pose_error(values):
    try:
        pose = read_pose(dji_jpeg_bytes(FULL, extra_xmp=values))
    except PoseError as exc:
        assert exc.reason
    else:
        assert isinstance(pose, CameraPose)
        assert all(math.isfinite(v) for v in (pose.lat, pose.lon, pose.yaw, pose.pitch, pose.fx))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_any_xmp_bytes_give_a_pose_or_a_pose_error(packet):
    try:
        read_pose(dji_jpeg_bytes(FULL, xmp_packet=packet))
    except PoseError as exc:
        assert exc.reason


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 3000), st.binary(min_size=1, max_size=8))
def test_corrupted_bytes_give_a_pose_or_a_pose_error(offset, junk):
    data = bytearray(dji_jpeg_bytes(FULL))
    offset = min(offset, len(data) - 1)
    data[offset : offset + len(junk)] = junk
    try:
        read_pose(bytes(data))
    except PoseError as exc:
        assert exc.reason


def test_dji_spelling_variants_of_the_position(dji_jpeg):
    values = {"GPSLatitude": "+10.5", "GpsLongtitude": "-20.25"}
    pose = read_pose(dji_jpeg(FULL, omit_xmp=["GpsLatitude", "GpsLongitude"], extra_xmp=values,
                              gps_exif=False))
    assert (pose.lat, pose.lon) == (10.5, -20.25)


def test_read_pose_or_reason_never_raises(dji_jpeg):
    from linepatrol.geo import read_pose_or_reason

    pose, reason = read_pose_or_reason(dji_jpeg(FULL))
    assert pose is not None and reason is None
    pose, reason = read_pose_or_reason(b"garbage")
    assert pose is None and reason


def test_calibration_for_a_larger_image_is_scaled(dji_jpeg):
    """An M3E photo saved at half size keeps its full-size calibration (5280 x 3956)."""
    pose = replace(FULL, fx=3713.29, fy=3713.29, cx=2640.0, cy=1978.0)
    read = read_pose(dji_jpeg(pose, omit_xmp=[]))  # the JPEG itself is 640 x 480
    assert read.intrinsics_source == "calibrated_scaled"
    scale = 320.0 / 2640.0
    assert read.fx == pytest.approx(3713.29 * scale)
    assert (read.cx, read.cy) == pytest.approx((320.0, 1978.0 * scale))


def test_optical_centre_outside_the_image(dji_jpeg):
    with pytest.raises(PoseError, match="outside the 640x480 image"):
        read_pose(dji_jpeg(FULL, extra_xmp={"CalibratedOpticalCenterX": "321.0",
                                            "CalibratedOpticalCenterY": "900.0"}))


LENS = (-0.12, 0.08, 0.001, -0.0007, -0.02)


def test_lens_distortion_round_trip_and_flags(dji_jpeg):
    pose = replace(FULL, fy=514.5, distortion=LENS)
    read = read_pose(dji_jpeg(pose))
    assert read.distortion == pytest.approx(LENS)
    assert (read.fx, read.fy, read.cx, read.cy) == pytest.approx((512.25, 514.5, 321.75, 238.25))
    assert read.intrinsics_source == "calibrated+dewarp_data"
    # DewarpFlag 1: DJI has already removed the distortion from the pixels
    dewarped = read_pose(dji_jpeg(pose, extra_xmp={"DewarpFlag": "1"}))
    assert dewarped.distortion is None and dewarped.fy == 512.25
    with pytest.raises(PoseError, match="DewarpData is not 9 numbers"):
        read_pose(dji_jpeg(pose, extra_xmp={"DewarpData": "2024-01-01;1,2,3"}))


@settings(max_examples=40, deadline=None)
@given(st.floats(-0.45, 0.45), st.floats(-0.35, 0.35), st.floats(-90, -40), st.floats(-180, 180))
def test_distorted_pixels_land_where_the_undistorted_ray_does(x, y, pitch, yaw):
    """Distort a normalised image point with the lens model written out here, locate the
    distorted pixel with the distorted pose, and compare with the independent ray cast of
    the same point in an ideal camera."""
    from geo_support import horizontal_error, independent_ray_cast

    from linepatrol.geo import GeoConfig, locate_pixels

    k1, k2, p1, p2, k3 = LENS
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2 * r2 + k3 * r2**3
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    ideal = make_pose(yaw=round(yaw, 2), pitch=round(pitch, 2))
    lens = replace(ideal, distortion=LENS)
    pixel = (ideal.fx * xd + ideal.cx, ideal.fy * yd + ideal.cy)
    expected = independent_ray_cast(ideal, (ideal.fx * x + ideal.cx, ideal.fy * y + ideal.cy),
                                     50.0)
    assert expected is not None
    (placed,) = locate_pixels(read_pose(dji_jpeg_bytes(lens)), [pixel], GeoConfig())
    assert placed.lat is not None and placed.lon is not None
    error = horizontal_error(placed.lat, placed.lon, expected[0], expected[1])
    assert error <= 0.5 + 0.002 * expected[2]
