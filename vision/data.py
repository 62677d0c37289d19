"""Image sources (class folders, CSV of path,label) and the tf.data pipeline."""
from __future__ import annotations

import warnings
import zlib
from pathlib import Path

import numpy as np

from transferkit.common.data.domain import Examples, PipelineOptions, ReadOptions
from transferkit.common.data.files import labelled_files, scanning

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
MAX_PIXELS = 89_478_485  # PIL's own bomb threshold (it only warns below twice this)
CACHE_LIMIT_BYTES = 2 << 30  # decoded images are cached in memory below this


def read_image_source(path, options: ReadOptions = ReadOptions()) -> Examples:
    """Read a folder of class subfolders, or a CSV with path and label columns.

    Files that are not images (by extension or header) or do not decode (truncated,
    corrupt) are listed in ``skipped`` with the reason.

    Example:
        >>> ex = read_image_source("data/flowers")  # doctest: +SKIP
    """
    pairs = labelled_files(path, options, "image")
    items, labels, skipped = [], [], []
    for file, label, _ in scanning(pairs, f"checking {path}", "image"):
        reason = check_image(file)
        if reason:
            skipped.append((str(file), reason))
        else:
            items.append(str(file))
            labels.append(label)
    return Examples(items=tuple(items), labels=tuple(labels), skipped=tuple(skipped))


def check_image(file) -> str:
    """Why ``file`` can't be used as an image, or ``""`` when it can (never raises).

    Example:
        >>> check_image("notes.txt")  # doctest: +SKIP
        'not an image extension (.txt)'
    """
    try:
        return _check_image(Path(file))
    except OSError as exc:  # unreadable: permissions, a folder named .jpg, I/O errors
        return f"unreadable ({type(exc).__name__}: {exc.strerror or exc})"


def _check_image(file: Path) -> str:
    if not file.is_file():
        return "file not found"
    if file.suffix.lower() not in IMAGE_EXTENSIONS:
        return f"not an image extension ({file.suffix or 'none'})"
    with file.open("rb") as fh:
        head = fh.read(12)
    if not head:
        return "empty file (0 bytes)"
    if not (head.startswith((b"\xff\xd8", b"\x89PNG", b"BM", b"GIF8"))):
        return "not a decodable JPEG/PNG/BMP/GIF (bad header)"
    if head.startswith(b"BM"):
        reason = _check_bmp(file)
        if reason:
            return reason
    return _check_decodes(file, head)


def _check_bmp(file: Path) -> str:
    """TF's BMP decoder reads only uncompressed 24/32-bit files; it fails on others mid-epoch
    and reads 8-bit palette indices as grey levels (a silent wrong image)."""
    with file.open("rb") as fh:
        head = fh.read(34)
    if len(head) < 34:
        return "truncated BMP header"
    field = lambda a, b: int.from_bytes(head[a:b], "little", signed=True)  # noqa: E731
    offset, width, height, bits, compression = (field(10, 14), field(18, 22), field(22, 26),
                                                field(28, 30), field(30, 34))
    if bits not in (24, 32) or compression != 0:
        return (f"unsupported BMP ({bits}-bit, compression {compression}): only uncompressed "
                "24/32-bit BMP decodes; convert it to PNG")
    row = (bits // 8 * width + 3) // 4 * 4
    if width <= 0 or height == 0 or offset < 14 or file.stat().st_size != (
            offset + abs(height) * row):  # TF's decoder wants exactly this size
        return f"truncated or corrupt BMP ({width}x{height}, pixels from byte {offset})"
    return ""


def _check_decodes(file: Path, head: bytes) -> str:
    """A truncated or corrupt body passes the header check but stops ``tf.data`` mid-epoch.

    JPEG, BMP and GIF are decoded, JPEG at 1/8 scale (0.3 ms for 500x375). PNG is
    inflated (3 ms for 500x375) and checked as libpng checks it (:func:`_check_png_data`):
    PIL's ``verify`` (CRCs only) and even its full decode passed PNGs that TF's decoder
    refuses (found by tests/common/test_fuzz_media.py).
    """
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # checked below
            image = Image.open(file)
        with image:
            if image.width * image.height > MAX_PIXELS:
                return (f"too large ({image.width}x{image.height} pixels, over {MAX_PIXELS:,}):"
                        " a decompression bomb or an image to downscale first")
            if head.startswith(b"\x89PNG"):
                return _check_png_data(file)
            image.draft("L", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
        if head.startswith(b"GIF8"):
            return _check_gif(file)
    except Image.DecompressionBombError as exc:
        return f"too large (decompression bomb: {str(exc)[:80]})"
    except Exception as exc:  # noqa: BLE001 - PIL raises OSError, SyntaxError, ValueError...
        return f"corrupt or truncated image ({type(exc).__name__}: {str(exc)[:80]})"
    return ""


def _check_gif(file: Path) -> str:
    """giflib (in TF) refuses GIFs that PIL reads; GIFs are rare, so TF itself checks them."""
    from transferkit.common.keras import tf

    try:
        tf.io.decode_image(tf.io.read_file(str(file)), channels=3, expand_animations=False)
    except Exception as exc:  # noqa: BLE001 - tf.errors.InvalidArgumentError, mostly
        return f"corrupt GIF ({str(exc).split('}}')[-1].strip()[:100]})"
    return ""


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by colour type
_PNG_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
          (0, 1, 1, 2))  # x0, y0, dx, dy of each interlace pass


def _check_png_data(file: Path) -> str:
    """PIL decodes a PNG whose compressed data ends early (it pads) or whose IDAT CRC is
    wrong; libpng, in TF, refuses both. So every chunk must be whole with its CRC, and the
    image data must inflate to the rows the header promises."""
    data, at, chunks = file.read_bytes(), 8, []
    while at + 8 <= len(data):
        size, kind = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8]
        if at + 12 + size > len(data):
            return f"truncated PNG ({kind!r} chunk runs past the end of the file)"
        body, crc = data[at + 8:at + 8 + size], data[at + 8 + size:at + 12 + size]
        if not kind.isalpha() or zlib.crc32(kind + body) != int.from_bytes(crc, "big"):
            return f"corrupt PNG ({kind!r} chunk at byte {at}: bad type or CRC)"
        chunks.append((kind, body))
        at += 12 + size
    if not chunks or chunks[-1][0] != b"IEND":
        return "truncated PNG (no IEND chunk at the end)"
    header = next((body for kind, body in chunks if kind == b"IHDR"), b"")
    if len(header) != 13 or header[8] not in _PNG_DEPTHS.get(header[9], ()) or header[10:12] \
            != b"\x00\x00" or header[12] > 1:
        return "corrupt PNG header (IHDR: bit depth, colour type or methods)"
    width, height = int.from_bytes(header[0:4], "big"), int.from_bytes(header[4:8], "big")
    bits = header[8] * _PNG_CHANNELS[header[9]]
    passes = _ADAM7 if header[12] else ((0, 0, 1, 1),)
    shapes = [(rows, 1 + (cols * bits + 7) // 8) for x0, y0, dx, dy in passes
              for cols, rows in [(-(-(width - x0) // dx), -(-(height - y0) // dy))]
              if cols > 0 and rows > 0]
    expected = sum(rows * stride for rows, stride in shapes)
    try:
        raw = zlib.decompressobj().decompress(b"".join(b for k, b in chunks if k == b"IDAT"),
                                              expected)
    except zlib.error as exc:
        return f"corrupt PNG data (zlib: {exc})"
    if len(raw) < expected:
        return f"truncated PNG data ({len(raw)} of {expected} bytes)"
    starts = np.cumsum([0] + [rows * stride for rows, stride in shapes])
    filters = [np.frombuffer(raw, np.uint8, rows * stride, s)[::stride]
               for (rows, stride), s in zip(shapes, starts)]
    if max(int(f.max()) for f in filters) > 4:
        return "corrupt PNG data (a row filter type above 4)"
    return ""


def load_image(path, contract):
    """Decode any JPEG/PNG/BMP/GIF to ``[size, size, channels]`` float32 in 0..255.

    Grayscale and RGBA become RGB (decode with a fixed channel count drops or repeats).
    """
    from transferkit.common.keras import tf

    raw = tf.io.read_file(path)
    image = tf.io.decode_image(raw, channels=contract.channels, expand_animations=False)
    image = tf.image.resize(image, (contract.size, contract.size), antialias=True)
    image.set_shape((contract.size, contract.size, contract.channels))
    return tf.cast(image, tf.float32)


def make_image_dataset(items, targets, contract, options: PipelineOptions = PipelineOptions()):
    """Batched ``tf.data`` of images (and targets): parallel decode, cache, augment."""
    from transferkit.common.keras import tf
    from transferkit.vision.augment import augmenter

    ds = tf.data.Dataset.from_tensor_slices(list(items))
    ds = ds.map(lambda p: load_image(p, contract), num_parallel_calls=tf.data.AUTOTUNE)
    if targets is not None:
        ds = tf.data.Dataset.zip((ds, tf.data.Dataset.from_tensor_slices(np.asarray(targets))))
    if options.training and _fits_memory(len(items), contract):
        ds = ds.cache()  # decode once across fine-tuning epochs
    if options.training:
        ds = ds.shuffle(min(len(items), 10_000), seed=options.seed, reshuffle_each_iteration=True)
    ds = ds.batch(options.batch_size)
    if options.augment:
        aug = augmenter(options.seed)
        if targets is None:
            ds = ds.map(lambda x: aug(x, training=True), num_parallel_calls=tf.data.AUTOTUNE)
        else:
            ds = ds.map(lambda x, y: (aug(x, training=True), y),
                        num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def _fits_memory(n: int, contract) -> bool:
    return n * contract.size * contract.size * contract.channels * 4 < CACHE_LIMIT_BYTES
