"""Fixtures for the model tests: a tiny generated YOLO dataset and a tiny training config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

NAMES = ("insulator", "insulator_missing_cap")
TINY_MODEL_YAML = Path(__file__).parent / "data" / "tiny-yolov8.yaml"


def _write_split(root: Path, split: str, count: int, seed: int) -> None:
    """Photos of grey noise with a long dark bar (insulator) and a small bright square (cap)."""
    rng = np.random.default_rng(seed)
    img_dir, lbl_dir = root / "images" / split, root / "labels" / split
    img_dir.mkdir(parents=True)
    lbl_dir.mkdir(parents=True)
    for i in range(count):
        w, h = 96, 72
        img = rng.integers(90, 140, size=(h, w, 3), dtype=np.uint8)
        x1, y1 = int(rng.integers(4, 30)), int(rng.integers(4, 20))
        bw, bh = int(rng.integers(40, 60)), int(rng.integers(12, 20))
        cv2.rectangle(img, (x1, y1), (x1 + bw, y1 + bh), (30, 40, 50), -1)
        cx1, cy1 = int(rng.integers(10, 70)), int(rng.integers(45, 55))
        cv2.rectangle(img, (cx1, cy1), (cx1 + 12, cy1 + 10), (240, 230, 40), -1)
        cv2.imwrite(str(img_dir / f"{split}{i:02d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
        rows = [
            (0, (x1 + bw / 2) / w, (y1 + bh / 2) / h, bw / w, bh / h),
            (1, (cx1 + 6) / w, (cy1 + 5) / h, 12 / w, 10 / h),
        ]
        (lbl_dir / f"{split}{i:02d}.txt").write_text(
            "".join(f"{c} {a:.6f} {b:.6f} {d:.6f} {e:.6f}\n" for c, a, b, d, e in rows)
        )


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A YOLO-layout dataset: 8 training and 4 validation images, two taxonomy classes."""
    root = tmp_path_factory.mktemp("tiny-yolo")
    _write_split(root, "train", 8, seed=1)
    _write_split(root, "val", 4, seed=2)
    (root / "data.yaml").write_text(yaml.safe_dump({
        "path": str(root), "train": "images/train", "val": "images/val",
        "names": dict(enumerate(NAMES)),
    }))
    return root


def write_config(path: Path, data: Path, runs: Path, weights: Path | None = None,
                 name: str = "tiny", **train: object) -> Path:
    settings = {"seed": 0, "deterministic": True, "device": "cpu", "imgsz": 64, "epochs": 1,
                "batch": 4, "workers": 0, "mosaic": 0.0, "plots": False, "val": True,
                "amp": False, **train}
    config = {"model": str(TINY_MODEL_YAML), "data": str(data / "data.yaml"),
              "runs_dir": str(runs), "name": name, "train": settings}
    if weights is not None:
        config["weights"] = str(weights)
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="session")
def tiny_config() -> Callable[..., Path]:
    """``tiny_config(path, dataset_dir, runs_dir, **trainer_args)`` writes a training config."""
    return write_config


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One epoch of training of the tiny model (shared by the export tests)."""
    from linepatrol_models.train import run_training

    work = tmp_path_factory.mktemp("train")
    config = write_config(work / "tiny.yaml", tiny_dataset, work / "runs")
    return run_training(config)
