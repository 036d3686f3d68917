"""LinePatrol benchmark suite: numbers measured side by side, in one run, on one machine.

``python -m benchmarks run --quick|--full [--device cpu|cuda] [--out DIR]`` compares the
LinePatrol core (ONNX Runtime) with ultralytics' own predictor on the same weights and photos,
tiled inference with SAHI on large photos, a whole flight, model variants and peak memory, and
writes ``results.json``, ``results.md`` and ``results.png`` stamped with the machine.

This package imports torch, ultralytics and sahi (the comparison needs them); the core does not.
"""
