"""Dataset tools: readers, converters, splits, statistics and slicing for detection datasets.

One in-memory form (:mod:`.model`: ``Dataset`` -> ``Sample`` -> ``Box`` in pixels) sits
between the readers (:mod:`.readers`: VOC incl. CPLID's one-XML-per-class layout, COCO, YOLO,
LabelMe) and everything else: :mod:`.validate` (the box and image rules, one place),
:mod:`.mapping` (source names -> taxonomy keys), :mod:`.dedup` and :mod:`.split`
(near-duplicate groups, seeded stratified train/val), :mod:`.yolo_writer` (ultralytics layout),
:mod:`.stats`, :mod:`.tiling` and :mod:`.issues` (per-file problem reports). The command line
is ``linepatrol data convert|split|stats|slice`` (:mod:`.cli`).
"""
