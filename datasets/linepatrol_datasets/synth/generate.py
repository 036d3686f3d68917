"""``linepatrol data synth``: many random corridor scenes, one or more shots each.

Output folder::

    images/scene000000_0.jpg   JPEG with DJI EXIF GPS + drone-dji XMP for its pose
    labels/scene000000_0.txt   YOLO boxes; class ids index data.yaml's names (taxonomy keys)
    truth/scene000000.json     origin, towers, every object (class, ENU, WGS84, tower/span),
                               and per shot its pose and labelled instance ids
    ledgers/scene000000.csv    the scene's tower ledger (linepatrol.geo.ledger format)
    data.yaml

Determinism: scene ``i`` of seed ``s`` draws from ``np.random.default_rng([s, i])`` only, so
the same seed gives the same bytes, and a scene does not change with ``--scenes``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .backgrounds import GroundSource
from .camera import CAMERAS
from .labels import write_data_yaml, write_yolo
from .render import Renderer
from .scene import Scene, SceneOptions, build_scene
from .shots import EPOCH, take_shot
from .views import sample_lighting, sample_pose


@dataclass
class Summary:
    scenes: int
    images: int
    labels: int
    seconds: float
    render_seconds: float
    ground: str

    @property
    def seconds_per_image(self) -> float:
        return self.seconds / max(self.images, 1)


def scene_for(seed: int, index: int, ground: GroundSource,
              options: SceneOptions | None = None) -> tuple[Scene, np.random.Generator]:
    """Scene ``index`` of ``seed`` and the generator its shots continue to draw from."""
    rng = np.random.default_rng([seed, index])
    return build_scene(rng, ground.tile(rng), options), rng


def generate_scenes(out: Path, scenes: int, seed: int = 0, size: tuple[int, int] = (1280, 960),
                    backgrounds: Path | None = None, views: int = 1,
                    options: SceneOptions | None = None, progress: bool = True,
                    renderer: Renderer | None = None) -> Summary:
    out.mkdir(parents=True, exist_ok=True)
    for sub in ("images", "labels", "truth", "ledgers"):
        (out / sub).mkdir(exist_ok=True)
    write_data_yaml(out)
    ground = GroundSource(backgrounds, seed)
    renderer = renderer or Renderer()
    from tqdm import tqdm

    start = time.perf_counter()
    render_s = 0.0
    n_img = n_lab = 0
    bar = tqdm(total=scenes * views, unit="img", disable=not progress, desc="synth")
    for i in range(scenes):
        scene, rng = scene_for(seed, i, ground, options)
        cam = CAMERAS[int(rng.integers(len(CAMERAS)))]
        w, h = size
        intr = cam.intrinsics(w, h, float(rng.normal(0, 0.004 * w)),
                              float(rng.normal(0, 0.004 * h)))
        renderer.load(scene.geometry())
        truth = scene.truth()
        truth["camera"] = {"make": cam.make, "model": cam.model}
        truth["shots"] = []
        for j in range(views):
            pose = sample_pose(scene, intr, rng)
            light = sample_lighting(rng)
            when = EPOCH + dt.timedelta(days=int(rng.integers(0, 200)),
                                        seconds=int(rng.integers(0, 9 * 3600)))
            t0 = time.perf_counter()
            shot = take_shot(renderer, scene, pose, intr, light, cam, rng, when)
            render_s += time.perf_counter() - t0
            name = f"scene{i:06d}_{j}"
            (out / "images" / f"{name}.jpg").write_bytes(shot.jpeg)
            write_yolo(out / "labels" / f"{name}.txt", shot.boxes, w, h)
            rec = shot.record(f"images/{name}.jpg")
            rec["sun"] = {"azimuth": light.sun_azimuth, "elevation": light.sun_elevation}
            truth["shots"].append(rec)
            n_img += 1
            n_lab += len(shot.boxes)
            bar.update(1)
        (out / "truth" / f"scene{i:06d}.json").write_text(json.dumps(truth, indent=1))
        (out / "ledgers" / f"scene{i:06d}.csv").write_text(scene.ledger_csv())
    bar.close()
    return Summary(scenes, n_img, n_lab, time.perf_counter() - start, render_s, ground.kind)
