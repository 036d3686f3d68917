"""``linepatrol data sample-flight``: one patrol flight over a three-tower corridor.

The scene holds hazards and defects at known positions: machines beside and under the line,
bird nests on cross-arms, foreign objects on conductors, missing insulator caps, sometimes
smoke. The flight photographs every one of them several times from different sides and
heights, then the towers, the way a patrol pilot works a section. Output::

    images/DJI_0001.JPG ...   4000x3000 JPEGs, DJI EXIF GPS + drone-dji XMP
    labels/DJI_0001.txt ...   YOLO labels (data.yaml names = taxonomy keys)
    ledger.csv                the three towers (linepatrol.geo.ledger format)
    truth.json                every object: class, ENU and WGS84 position, tower or span;
                              every shot: pose and labelled instance ids

It exists to test geotagging end to end: ``linepatrol report`` on ``images/`` with
``ledger.csv`` should put each defect and hazard where ``truth.json`` says it is.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from .backgrounds import GroundSource
from .camera import CAMERAS
from .labels import write_data_yaml, write_yolo
from .render import Renderer
from .scene import SceneOptions, build_scene
from .shots import EPOCH, take_shot
from .views import is_close_up, sample_lighting, sample_pose, target_of

FLIGHT_OPTIONS = SceneOptions(towers=3, hazards=(4, 5), smoke_probability=0.5, nests=(2, 2),
                              foreign_objects=(2, 2), missing_caps=(2, 2), slipped_dampers=(1, 1),
                              lateral_m=35.0)
COMPONENTS = ("tower", "insulator", "damper")


def sample_flight(out: Path, photos: int = 60, seed: int = 0, size: tuple[int, int] = (4000, 3000),
                  backgrounds: Path | None = None, progress: bool = True,
                  renderer: Renderer | None = None) -> dict[str, Any]:
    """Render the flight into ``out``; returns a summary (photos, labels, seconds)."""
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("images", "labels"):
        (out / sub).mkdir(exist_ok=True)
    write_data_yaml(out)
    rng = np.random.default_rng([seed, 0xF11])
    ground = GroundSource(backgrounds, seed)
    scene = build_scene(rng, ground.tile(rng), FLIGHT_OPTIONS)
    cam = next(c for c in CAMERAS if c.model == "M3E")
    intr = cam.intrinsics(*size, cx_offset=float(rng.normal(0, 4)),
                          cy_offset=float(rng.normal(0, 4)))
    renderer = renderer or Renderer()
    renderer.load(scene.geometry())
    light = sample_lighting(rng)  # one flight, one sun

    # Targets: each defect and hazard several times, then the towers' arm levels.
    findings = [o for o in scene.objects if o.key not in COMPONENTS]
    # Line defects get close-ups (every other shot), hazards are shot from wherever.
    targets: list[tuple[np.ndarray, bool]] = []
    per_finding = max(2, (photos - len(scene.towers) * 3) // max(len(findings), 1))
    for o in findings:
        targets += [(target_of(o), is_close_up(o.key) and k % 2 == 0)
                    for k in range(per_finding)]
    for t in scene.towers:
        targets += [(t.foot + np.array([0, 0, t.height * 0.75]), k == 0) for k in range(3)]
    while len(targets) < photos:
        targets.append((scene.towers[int(rng.integers(len(scene.towers)))].foot
                        + np.array([0, 0, 20.0]), False))
    targets = targets[:photos]

    from tqdm import tqdm

    truth = scene.truth()
    truth["camera"] = {"make": cam.make, "model": cam.model}
    truth["shots"] = []
    start = time.perf_counter()
    n_labels = 0
    for k, (target, close) in enumerate(tqdm(targets, unit="photo", disable=not progress,
                                             desc="sample-flight")):
        pose = sample_pose(scene, intr, rng, target=target, close_up=close)
        when = EPOCH + dt.timedelta(seconds=8 * k)
        shot = take_shot(renderer, scene, pose, intr, light, cam, rng, when, target=target)
        name = f"DJI_{k + 1:04d}"
        (out / "images" / f"{name}.JPG").write_bytes(shot.jpeg)
        write_yolo(out / "labels" / f"{name}.txt", shot.boxes, *size)
        truth["shots"].append(shot.record(f"images/{name}.JPG"))
        n_labels += len(shot.boxes)
    (out / "ledger.csv").write_text(scene.ledger_csv())
    (out / "truth.json").write_text(json.dumps(truth, indent=1))
    seconds = time.perf_counter() - start
    return {"photos": len(targets), "labels": n_labels, "objects": len(scene.objects),
            "findings": len(findings), "seconds": round(seconds, 1), "ground": ground.kind}
