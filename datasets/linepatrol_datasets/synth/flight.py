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

``--revisit`` flies the same line again later (:mod:`.revisit`): the same scene from the same
seed with one cap fixed, one machine moved closer, one new nest and an end of the line
skipped; ``truth.json`` then holds the revisit's objects and, under ``revisit``, what changed.
Its own random stream draws the changes, the sun and the poses, so the first flight of a seed
is the same bytes with or without a revisit beside it.
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
from .revisit import Revisit, revisit_scene
from .scene import Scene, SceneOptions, build_scene
from .shots import EPOCH, take_shot
from .views import is_close_up, sample_lighting, sample_pose, target_of

FLIGHT_OPTIONS = SceneOptions(towers=3, hazards=(4, 5), smoke_probability=0.5, nests=(2, 2),
                              foreign_objects=(2, 2), missing_caps=(2, 2), slipped_dampers=(1, 1),
                              lateral_m=35.0)
COMPONENTS = ("tower", "insulator", "damper")
# The revisit's photos are dated this much later (their EXIF time); a patrol cycle.
REVISIT_AFTER = dt.timedelta(days=28)
REVISIT_STREAM = 0x2E5  # the revisit's random stream beside the flight's [seed, 0xF11]


def sample_flight(out: Path, photos: int = 60, seed: int = 0, size: tuple[int, int] = (4000, 3000),
                  backgrounds: Path | None = None, progress: bool = True,
                  renderer: Renderer | None = None, revisit: bool = False) -> dict[str, Any]:
    """Render the flight into ``out``, or with ``revisit`` the same line flown again later;
    returns a summary (photos, labels, seconds; a revisit's changes)."""
    rng = np.random.default_rng([seed, 0xF11])
    ground = GroundSource(backgrounds, seed)
    scene = build_scene(rng, ground.tile(rng), FLIGHT_OPTIONS)
    cam = next(c for c in CAMERAS if c.model == "M3E")
    intr = cam.intrinsics(*size, cx_offset=float(rng.normal(0, 4)),
                          cy_offset=float(rng.normal(0, 4)))
    changes: Revisit | None = None
    epoch = EPOCH
    if revisit:
        rng = np.random.default_rng([seed, 0xF11, REVISIT_STREAM])
        scene, changes = revisit_scene(scene, rng)
        epoch = EPOCH + REVISIT_AFTER
    out.mkdir(parents=True, exist_ok=True)  # once the scene is known to suit the flight
    for sub in ("images", "labels"):
        (out / sub).mkdir(exist_ok=True)
    write_data_yaml(out)
    renderer = renderer or Renderer()
    renderer.load(scene.geometry())
    light = sample_lighting(rng)  # one flight, one sun
    targets = flight_targets(scene, photos, rng, changes)

    from tqdm import tqdm

    truth = scene.truth()
    if changes is not None:
        truth["revisit"] = changes.to_json()
    truth["camera"] = {"make": cam.make, "model": cam.model}
    truth["shots"] = []
    start = time.perf_counter()
    n_labels = 0
    for k, (target, close) in enumerate(tqdm(targets, unit="photo", disable=not progress,
                                             desc="sample-flight")):
        pose = sample_pose(scene, intr, rng, target=target, close_up=close)
        when = epoch + dt.timedelta(seconds=8 * k)
        shot = take_shot(renderer, scene, pose, intr, light, cam, rng, when, target=target)
        name = f"DJI_{k + 1:04d}"
        (out / "images" / f"{name}.JPG").write_bytes(shot.jpeg)
        write_yolo(out / "labels" / f"{name}.txt", shot.boxes, *size)
        truth["shots"].append(shot.record(f"images/{name}.JPG"))
        n_labels += len(shot.boxes)
    (out / "ledger.csv").write_text(scene.ledger_csv())
    (out / "truth.json").write_text(json.dumps(truth, indent=1))
    seconds = time.perf_counter() - start
    summary = {"photos": len(targets), "labels": n_labels, "objects": len(scene.objects),
               "findings": sum(o.key not in COMPONENTS for o in scene.objects),
               "seconds": round(seconds, 1), "ground": ground.kind}
    if changes is not None:
        summary["revisit"] = changes.to_json()
    return summary


def flight_targets(scene: Scene, photos: int, rng: np.random.Generator,
                   changes: Revisit | None = None) -> list[tuple[np.ndarray, bool]]:
    """Where each photo aims, and whether as a close-up: each defect and hazard several times
    (line defects close up every other shot, hazards from wherever), then the towers' arm
    levels, topped up with views of random towers. A revisit leaves the skipped part out and
    looks again where the fixed cap was, as a pilot checks a repair."""
    wanted = [o for o in scene.objects if o.key not in COMPONENTS
              and (changes is None or not changes.skips(o))]
    sights = [(target_of(o), is_close_up(o.key)) for o in wanted]
    towers = scene.towers
    if changes is not None:
        sights.append((np.asarray(changes.fixed_at), True))
        towers = [t for t in towers if t.number not in changes.skipped_towers]
    targets: list[tuple[np.ndarray, bool]] = []
    per_finding = max(2, (photos - len(towers) * 3) // max(len(sights), 1))
    for at, close in sights:
        targets += [(at, close and k % 2 == 0) for k in range(per_finding)]
    for t in towers:
        targets += [(t.foot + np.array([0, 0, t.height * 0.75]), k == 0) for k in range(3)]
    while len(targets) < photos:
        targets.append((towers[int(rng.integers(len(towers)))].foot
                        + np.array([0, 0, 20.0]), False))
    return targets[:photos]
