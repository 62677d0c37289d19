"""Bad and odd image/audio files, written by the tests (PIL, numpy, soundfile).

Each writer returns ``{name: expected}``: ``""`` for a file the toolkit must use, else a
word its skip reason must contain. Used by ``test_bad_inputs_media`` and the fuzz tests.
"""
import io
import struct
import zlib

import numpy as np

SR = 16000


def png_bytes(array) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def jpeg_bytes(array, mode: str = "RGB") -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).convert(mode).save(buf, format="JPEG")
    return buf.getvalue()


def bomb_png(side: int = 10_000) -> bytes:
    """A real decompression bomb: ``side``² grey pixels of zeros in about 100 KB."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    pack = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    body = b"".join(pack.compress(row) for _ in range(side)) + pack.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) +
            chunk(b"IEND", b""))


def write_images(folder, rng, make) -> dict:
    """Every image case into ``folder``; ``make(rng)`` draws one good 32x32 RGB array."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    good = make(rng)
    jpeg, png = jpeg_bytes(good), png_bytes(good)
    files = {
        "zero.png": (b"", "empty file"), "zero.jpg": (b"", "empty file"),
        "truncated.jpg": (jpeg[:len(jpeg) // 2], "truncated"),
        "truncated.png": (png[:len(png) // 2], "truncated"),
        "text_named.jpg": (b"this is not an image\n", "bad header"),
        "bomb.png": (bomb_png(), "too large"),
        "cmyk.jpg": (jpeg_bytes(good, "CMYK"), ""),
        "grey16.png": (png_bytes((good[..., 0].astype(np.uint16) * 257)), ""),
        "grey.png": (png_bytes(good[..., 0]), ""),
        "rgba.png": (png_bytes(np.dstack([good, np.full(good.shape[:2], 200, np.uint8)])), ""),
        "one_pixel.png": (png_bytes(good[:1, :1]), ""),
    }
    for name, (data, _) in files.items():
        (folder / name).write_bytes(data)
    frames = [Image.fromarray(make(rng)) for _ in range(3)]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:])
    Image.fromarray(good).convert("1").save(folder / "one_bit.bmp")
    (folder / "dangling_link.png").symlink_to(folder / "deleted.png")
    return {**{name: why for name, (_, why) in files.items()}, "animated.gif": "",
            "one_bit.bmp": "unsupported BMP", "dangling_link.png": "not found"}


def tone(freq: float, seconds: float = 0.5, sr: int = SR) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(int(seconds * sr)) / sr)).astype("float32")


def mp3_bytes(wave: np.ndarray, sr: int = SR) -> bytes | None:
    """MP3 bytes from libsndfile's encoder, or None where it was built without one."""
    import soundfile as sf

    buf = io.BytesIO()
    try:
        sf.write(buf, wave, sr, format="MP3", subtype="MPEG_LAYER_III")
    except Exception:  # noqa: BLE001 - libsndfile without LAME
        return None
    return buf.getvalue()


def write_audio(folder, freq: float) -> dict:
    """Every audio case into ``folder`` (tones of ``freq`` where the file is usable)."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    sf.write(folder / "stereo.wav", np.stack([tone(freq), tone(freq) * 0.5], 1), SR)
    sf.write(folder / "rate_8k.wav", tone(freq, sr=8000), 8000)
    sf.write(folder / "rate_48k.wav", tone(freq, sr=48000), 48000)
    sf.write(folder / "silent.wav", np.zeros(SR // 2, "float32"), SR)
    good = (folder / "rate_8k.wav").read_bytes()
    for name, value in (("nan_samples.wav", np.nan), ("inf_samples.wav", np.inf)):
        wave = tone(freq)
        wave[len(wave) // 2] = value
        sf.write(folder / name, wave, SR, subtype="FLOAT")
    (folder / "zero.wav").write_bytes(b"")
    (folder / "header_only.wav").write_bytes(good[:44])
    (folder / "truncated_header.wav").write_bytes(good[:30])
    (folder / "text_named.wav").write_text("this is not audio\n")
    cases = {"stereo.wav": "", "rate_8k.wav": "", "rate_48k.wav": "", "silent.wav": "",
             "nan_samples.wav": "non-finite", "inf_samples.wav": "non-finite",
             "zero.wav": "empty file", "header_only.wav": "no audio samples",
             "truncated_header.wav": "undecodable", "text_named.wav": "undecodable"}
    mp3 = mp3_bytes(tone(freq))
    if mp3 is not None:  # libsndfile reads by content, so the name does not matter
        (folder / "mp3_named.wav").write_bytes(mp3)
        cases["mp3_named.wav"] = ""
    return cases
