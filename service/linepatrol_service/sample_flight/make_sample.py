"""Rebuild the bundled sample flight from CPLID photos (reproducible; run from the repo root):

    .venv/bin/python -m linepatrol_service.sample_flight.make_sample /work/shared/datasets/cplid

Six real UAV photos of insulator strings (four with a missing cap marked by the dataset's
authors, two without) get the EXIF and drone-dji XMP a DJI camera writes, through the
project's own writer (:func:`linepatrol.geo.dji_meta.write_dji_metadata`; the pixels are not
re-encoded). Each camera is placed 30-40 m beside one tower of a tiny four-tower ledger, at the
height of the insulators, looking at the tower: the geotagger then names the tower of every
finding. The positions are invented (CPLID carries no metadata); the photos are real.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pyproj import Geod

HERE = Path(__file__).parent
LINE = "500kV Demo Line"
FLIGHT = {"line": LINE, "date": "2026-11-20", "team": "Demo patrol team 示范班组",
          "drone": "DJI M30T", "notes": "Bundled sample: real CPLID photos, invented positions"}
GROUND_ELEV = 30.0
TOWER_HEIGHT = 48.0
# Tower N1 and the line's bearing; towers every 420 m (a plausible 500 kV span).
START = (30.5200, 114.3100)
BEARING = 35.0
SPAN_M = 420.0
TOWERS = ["N1", "N2", "N3", "N4"]
_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class Shot:
    source: str  # path inside the CPLID folder
    tower: int  # index into TOWERS
    side: float  # +90: right of the line's direction, -90: left
    distance_m: float
    minute: int


SHOTS = (
    Shot("Defective_Insulators/images/066.jpg", 0, 90.0, 32.0, 1),
    Shot("Normal_Insulators/images/0049.jpg", 0, -90.0, 28.0, 2),
    Shot("Defective_Insulators/images/178.jpg", 1, 90.0, 38.0, 5),
    Shot("Defective_Insulators/images/139.jpg", 2, -90.0, 35.0, 9),
    Shot("Normal_Insulators/images/0058.jpg", 2, 90.0, 30.0, 10),
    Shot("Defective_Insulators/images/012.jpg", 3, 90.0, 34.0, 14),
)


def tower_positions(names: Sequence[str] = TOWERS) -> list[tuple[str, float, float]]:
    """Each tower's (name, lat, lon): the line from START on BEARING, SPAN_M apart."""
    out = []
    lat, lon = START
    for name in names:
        out.append((name, lat, lon))
        lon, lat, _ = _GEOD.fwd(lon, lat, BEARING, SPAN_M)
    return out


def write_ledger(path: Path, line: str = LINE, names: Sequence[str] = TOWERS) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["line", "tower", "lat", "lon", "ground_elev", "height"])
        for name, lat, lon in tower_positions(names):
            w.writerow([line, name, f"{lat:.7f}", f"{lon:.7f}", GROUND_ELEV, TOWER_HEIGHT])


def sample_photo(jpeg: bytes, shot: Shot, index: int,
                 towers: Sequence[tuple[str, float, float]] | None = None) -> bytes:
    """``jpeg`` with the metadata of a DJI photo taken beside ``towers[shot.tower]`` (default:
    the sample's four towers), looking at it."""
    import piexif

    from linepatrol.geo.dji_meta import write_dji_metadata
    from linepatrol.geo.pose import CameraPose
    from linepatrol.images import decode_image

    img = decode_image(jpeg)
    _, tlat, tlon = (towers or tower_positions())[shot.tower]
    lon, lat, _ = _GEOD.fwd(tlon, tlat, BEARING + shot.side, shot.distance_m)
    yaw = (BEARING + shot.side + 180.0 + 180.0) % 360.0 - 180.0  # looking back at the tower
    rel_alt = TOWER_HEIGHT - 6.0  # level with the insulator strings under the cross-arm
    fx = 1.25 * img.width  # a ~48 degree horizontal field of view
    pose = CameraPose(lat=lat, lon=lon, abs_alt=GROUND_ELEV + rel_alt, rel_alt=rel_alt, yaw=yaw,
                      pitch=-12.0, roll=0.0, fx=fx, fy=fx, cx=img.width / 2, cy=img.height / 2,
                      width=img.width, height=img.height)
    stamp = f"2026:11:20 10:{shot.minute:02d}:{(index * 7) % 60:02d}".encode()
    return write_dji_metadata(
        jpeg, pose, make="DJI", model="M30T",
        extra_exif={"Exif": {piexif.ExifIFD.DateTimeOriginal: stamp}},
    )


def build(cplid: Path, out: Path) -> list[Path]:
    photos = out / "photos"
    if photos.exists():
        shutil.rmtree(photos)
    photos.mkdir(parents=True)
    written = []
    for i, shot in enumerate(SHOTS, start=1):
        data = sample_photo((cplid / shot.source).read_bytes(), shot, i)
        path = photos / f"DJI_2026112010{shot.minute:02d}{(i * 7) % 60:02d}_{i:04d}_Z.JPG"
        path.write_bytes(data)
        written.append(path)
    write_ledger(out / "ledger.csv")
    (out / "flight.json").write_text(
        json.dumps({**FLIGHT, "sources": {p.name: s.source for p, s in
                                          zip(written, SHOTS, strict=True)}},
                   ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cplid", type=Path, help="the CPLID folder (with Defective_Insulators/)")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    for path in build(args.cplid, args.out):
        print(f"{path}  {path.stat().st_size // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
