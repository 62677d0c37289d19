"""Image sources: class folders and CSV, bad files skipped and listed, every colour mode to RGB,
seeded stratified splits."""
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from transferkit.common.model.contracts import ImageContract
from transferkit.common.data.domain import ReadOptions
from transferkit.common.data.splits import split_examples
from transferkit.vision.data import load_image, make_image_dataset, read_image_source

RGB16 = ImageContract(size=16, scaling="unit")


def _save(path, array, mode=None, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array)
    (image.convert(mode) if mode else image).save(path, **kwargs)
    return path


@pytest.fixture
def messy_dir(tmp_path):
    """Two classes of good images, plus every kind of file that must be skipped."""
    rng = np.random.default_rng(0)
    root = tmp_path / "messy"
    for cls in ("cat", "dog"):
        for i in range(3):
            _save(root / cls / f"{i}.png", rng.integers(0, 255, (20, 20, 3), dtype=np.uint8))
    _save(root / "cat" / "photo.jpg", rng.integers(0, 255, (20, 20, 3), dtype=np.uint8))
    good_png = (root / "cat" / "0.png").read_bytes()
    good_jpg = (root / "cat" / "photo.jpg").read_bytes()
    bad = {
        root / "dog" / "notes.txt": b"not an image",
        root / "dog" / "garbage.png": b"garbage bytes, not a PNG",
        root / "dog" / "empty.jpg": b"",
        root / "dog" / "truncated.png": good_png[:len(good_png) // 2],
        root / "cat" / "truncated.jpg": good_jpg[:len(good_jpg) // 2],
    }
    for path, data in bad.items():
        path.write_bytes(data)
    (root / "dog" / ".DS_Store").write_bytes(b"\0\1")  # hidden: ignored, not even listed
    (root / ".hidden_class").mkdir()
    return root, {str(p) for p in bad}


def test_folder_reader_labels_every_good_image(messy_dir):
    root, _ = messy_dir
    ex = read_image_source(root)
    assert Counter(ex.labels) == {"cat": 4, "dog": 3}
    assert all(item.startswith(str(root / label)) for item, label in zip(ex.items, ex.labels))


def test_bad_files_are_skipped_and_listed_with_a_reason(messy_dir):
    root, bad = messy_dir
    ex = read_image_source(root)
    skipped = dict(ex.skipped)
    assert set(skipped) == bad
    assert "extension" in skipped[str(root / "dog" / "notes.txt")]
    assert all(reason for reason in skipped.values())
    assert not bad & set(ex.items)


def test_every_listed_image_decodes(messy_dir):
    """What the reader keeps, the pipeline can decode: a corrupt file must not crash training."""
    root, _ = messy_dir
    ex = read_image_source(root)
    ds = make_image_dataset(ex.items, None, RGB16)
    assert sum(int(b.shape[0]) for b in ds) == len(ex)


def test_folder_without_class_folders_is_an_error(tmp_path):
    _save(tmp_path / "flat" / "a.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="one subfolder per class"):
        read_image_source(tmp_path / "flat")


def test_missing_source_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_image_source(tmp_path / "nowhere")


def _csv(path, text):
    path.write_text(text)
    return path


def test_csv_reader_relative_and_absolute_paths(tmp_path):
    a = _save(tmp_path / "img" / "a.png", np.zeros((8, 8, 3), np.uint8))
    _save(tmp_path / "img" / "b.png", np.full((8, 8, 3), 255, np.uint8))
    csv = _csv(tmp_path / "data.csv", f"path,label\nimg/b.png,white\n{a},black\n")
    ex = read_image_source(csv)
    assert ex.items == (str(tmp_path / "img" / "b.png"), str(a))
    assert ex.labels == ("white", "black") and ex.skipped == ()


def test_csv_custom_columns_and_tsv(tmp_path):
    _save(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    tsv = _csv(tmp_path / "data.tsv", "file\tclass\na.png\tzero\n")
    ex = read_image_source(tsv, ReadOptions(path_column="file", label_column="class"))
    assert ex.labels == ("zero",) and len(ex) == 1


def test_csv_missing_column_names_the_file_and_the_column(tmp_path):
    csv = _csv(tmp_path / "data.csv", "path,category\na.png,x\n")
    with pytest.raises(ValueError) as info:
        read_image_source(csv)
    assert str(csv) in str(info.value) and "'label'" in str(info.value)


def test_csv_row_with_a_missing_file_is_reported(tmp_path):
    _save(tmp_path / "a.png", np.zeros((8, 8, 3), np.uint8))
    csv = _csv(tmp_path / "data.csv", "path,label\na.png,x\ngone.png,y\n")
    ex = read_image_source(csv)
    assert ex.items == (str(tmp_path / "a.png"),)
    assert ex.skipped == ((str(tmp_path / "gone.png"), "file not found"),)


def test_csv_empty_label_names_the_line(tmp_path):
    csv = _csv(tmp_path / "data.csv", "path,label\na.png,x\nb.png,\n")
    with pytest.raises(ValueError, match=r"data.csv:3"):
        read_image_source(csv)


@pytest.mark.parametrize("name,mode,kwargs", [
    ("gray.png", "L", {}), ("gray_alpha.png", "LA", {}), ("rgba.png", "RGBA", {}),
    ("palette.png", "P", {}), ("bilevel.png", "1", {}), ("gray.jpg", "L", {}),
    ("cmyk.jpg", "CMYK", {}), ("palette.gif", "P", {}), ("gray.bmp", "L", {}),
    ("rgb.bmp", "RGB", {})])
def test_any_colour_mode_loads_as_rgb(tmp_path, name, mode, kwargs):
    rng = np.random.default_rng(0)
    path = _save(tmp_path / name, rng.integers(0, 255, (20, 24, 3), dtype=np.uint8), mode,
                 **kwargs)
    image = load_image(str(path), RGB16).numpy()
    assert image.shape == (16, 16, 3) and image.dtype == np.float32
    assert 0.0 <= image.min() and image.max() <= 255.0
    if mode in {"L", "LA", "1"}:
        np.testing.assert_array_equal(image[..., 0], image[..., 1])
        np.testing.assert_array_equal(image[..., 0], image[..., 2])


def test_reader_keeps_every_colour_mode(tmp_path):
    rng = np.random.default_rng(0)
    modes = {"L": "png", "LA": "png", "RGBA": "png", "P": "gif", "1": "png", "CMYK": "jpg",
             "RGB": "bmp", "I;16": "png"}
    for i, (mode, ext) in enumerate(modes.items()):
        _save(tmp_path / "all" / "x" / f"{i}.{ext}",
              rng.integers(0, 255, (40, 30, 3), dtype=np.uint8), mode)
    ex = read_image_source(tmp_path / "all")
    assert ex.skipped == () and len(ex) == len(modes)


def test_rgba_drops_alpha_and_keeps_colour(tmp_path):
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., 0], rgba[..., 3] = 200, 10  # red, nearly transparent
    image = load_image(str(_save(tmp_path / "a.png", rgba)), ImageContract(size=8)).numpy()
    np.testing.assert_allclose(image[..., 0], 200, atol=1)
    np.testing.assert_allclose(image[..., 1:], 0, atol=1)


def test_one_channel_contract_reads_colour_as_gray(tmp_path):
    path = _save(tmp_path / "a.png", np.full((8, 8, 3), 120, np.uint8))
    image = load_image(str(path), ImageContract(size=4, channels=1)).numpy()
    assert image.shape == (4, 4, 1)
    np.testing.assert_allclose(image, 120, atol=1)


def test_dataset_pairs_images_with_targets_in_order(colour_dir):
    ex = read_image_source(colour_dir)
    targets = np.arange(len(ex))
    got = np.concatenate([y.numpy() for _, y in make_image_dataset(ex.items, targets, RGB16)])
    np.testing.assert_array_equal(got, targets)


def test_seeded_split_is_deterministic_and_stratified(colour_dir):
    ex = read_image_source(colour_dir)  # 3 classes x 20
    a = split_examples(ex, validation=0.2, test=0.2, seed=7)
    b = split_examples(ex, validation=0.2, test=0.2, seed=7)
    c = split_examples(ex, validation=0.2, test=0.2, seed=8)
    for part in ("train", "validation", "test"):
        assert getattr(a, part).items == getattr(b, part).items
    assert a.test.items != c.test.items
    assert Counter(a.test.labels) == Counter(a.validation.labels) == {
        "red": 4, "green": 4, "blue": 4}
    assert Counter(a.train.labels) == {"red": 12, "green": 12, "blue": 12}
    everything = a.train.items + a.validation.items + a.test.items
    assert sorted(everything) == sorted(ex.items)  # disjoint and complete
