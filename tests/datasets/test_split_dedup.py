"""Near-duplicates stay on one side; the split is reproducible and close to the fraction."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_builders import make_cplid_like

from linepatrol_datasets.dedup import DedupConfig, DuplicateGroups, UnionFind, find_near_duplicates
from linepatrol_datasets.mapping import apply_mapping, load_mapping
from linepatrol_datasets.model import Box, Sample
from linepatrol_datasets.readers.voc import read_voc
from linepatrol_datasets.split import report, split_groups


@pytest.fixture(scope="module")
def cplid(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    root = make_cplid_like(tmp_path_factory.mktemp("cplid"), normal=4)
    return apply_mapping(read_voc(root), load_mapping("cplid")).samples


def members(samples: list[Sample], groups: DuplicateGroups) -> list[set[str]]:
    return sorted(
        ({samples[i].image_path.stem for i in m} for m in groups.groups().values() if len(m) > 1),
        key=sorted,
    )


def test_pasted_crops_group_their_images(cplid: list[Sample]) -> None:
    groups = find_near_duplicates(cplid)
    # 000/001/002 share one pasted patch (001 mirrored), 003/004 another; 005 and the normal
    # images are unique
    assert members(cplid, groups) == [{"000", "001", "002"}, {"003", "004"}]
    summary = groups.summary()
    assert summary["duplicate_groups"] == 2 and summary["images_in_duplicate_groups"] == 5
    assert summary["groups"] == len(cplid) - 3
    assert {link.reason for link in groups.links} == {"crop"}


def test_mirrored_paste_needs_the_flip_variants(cplid: list[Sample]) -> None:
    groups = find_near_duplicates(cplid, DedupConfig(crop_distance=10))
    assert any({cplid[lk.a].image_path.stem, cplid[lk.b].image_path.stem} == {"000", "001"}
               for lk in groups.links)


def test_without_crop_classes_only_whole_images_count(cplid: list[Sample]) -> None:
    groups = find_near_duplicates(cplid, DedupConfig(crop_classes=frozenset()))
    assert members(cplid, groups) == []


def test_identical_photos_are_linked_by_whole_image(tmp_path: Path, cplid: list[Sample]) -> None:
    import shutil

    copy = tmp_path / "copy.jpg"
    shutil.copy(cplid[0].image_path, copy)
    samples = [*cplid, Sample(copy, cplid[0].width, cplid[0].height, [])]
    groups = find_near_duplicates(samples)
    assert groups.group_of[-1] == groups.group_of[0]
    assert any(link.reason == "image" and link.distance == 0 for link in groups.links)


@pytest.mark.parametrize("seed", range(6))
def test_group_never_straddles(cplid: list[Sample], seed: int) -> None:
    groups = find_near_duplicates(cplid)
    sides = split_groups(cplid, groups, 0.5, seed)
    by_stem = {s.image_path.stem: side for s, side in zip(cplid, sides, strict=True)}
    assert by_stem["000"] == by_stem["001"] == by_stem["002"]
    assert by_stem["003"] == by_stem["004"]


def synthetic(n: int) -> tuple[list[Sample], DuplicateGroups]:
    """n samples without pixels; every 10th image belongs to a pair group."""
    samples = [Sample(Path(f"{i}.jpg"), 10, 10,
                      [Box("insulator_missing_cap" if i % 4 == 0 else "insulator", 0, 0, 5, 5)])
               for i in range(n)]
    uf = UnionFind(n)
    for i in range(0, n - 1, 10):
        uf.union(i, i + 1)
    return samples, DuplicateGroups([uf.find(i) for i in range(n)], [])


def test_split_is_deterministic_and_seed_dependent() -> None:
    samples, groups = synthetic(200)
    first = split_groups(samples, groups, 0.2, seed=0)
    assert split_groups(samples, groups, 0.2, seed=0) == first
    assert split_groups(samples, groups, 0.2, seed=1) != first


def test_split_hits_the_fraction_per_stratum() -> None:
    samples, groups = synthetic(200)
    sides = split_groups(samples, groups, 0.2, seed=3)
    rep = report(samples, sides, groups, 0.2, 3)
    assert rep.images == {"train": 160, "val": 40}
    # the rare class (every 4th image: 50 images) gets its 20 % too
    assert rep.boxes["val"]["insulator_missing_cap"] == 10
    for g in groups.groups().values():
        assert len({sides[i] for i in g}) == 1
    assert "val      40 images" in rep.text()


def test_val_fraction_zero_and_invalid() -> None:
    samples, groups = synthetic(20)
    assert set(split_groups(samples, groups, 0.0, 0)) == {"train"}
    with pytest.raises(ValueError):
        split_groups(samples, groups, 1.0, 0)


def test_hamming_pairs_chunking_gives_the_same_pairs() -> None:
    import numpy as np

    from linepatrol_datasets.dedup import hamming_pairs

    rng = np.random.default_rng(0)
    base = rng.integers(0, 2**63, size=(40, 1), dtype=np.uint64)
    base[7] = base[3] ^ np.uint64(0b1011)  # 3 bits apart
    base[20] = base[3]  # identical, but the same owner as 3: not a pair
    owner = list(range(40))
    owner[20] = 3
    variants = base[:, None, :]
    whole = hamming_pairs(base, variants, owner, limit=4)
    tiny = hamming_pairs(base, variants, owner, limit=4, max_elements=5)
    assert whole == tiny == [(3, 7, 3), (7, 20, 3)]
