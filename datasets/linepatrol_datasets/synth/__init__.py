"""Synthetic UAV corridor scenes: procedural towers, conductors, hazards and line defects,
rendered offscreen from DJI camera geometry, with labels, truth positions and tower ledgers.

Entry points: :func:`generate.generate_scenes` (``linepatrol data synth``) and
:func:`flight.sample_flight` (``linepatrol data sample-flight``). Rendering needs the ``synth``
extra (moderngl, trimesh) and an EGL-capable Mesa (Debian: libegl1 libegl-mesa0
libgl1-mesa-dri); importing this package needs neither.
"""
