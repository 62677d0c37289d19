"""Spoken-word datasets synthesised locally with espeak-ng (or Festival), no hub needed.

A *voice* is an espeak-ng accent, a voice variant, a speaking rate and a pitch; about a
hundred differ audibly. Every clip's voice is written as its group, so the speech domain
splits train and test by voice: test voices are never heard in training.

Layout written: ``out/<word>/<voice>.wav`` plus ``out/index.csv`` (``path,label,group``),
readable by ``read_audio_source`` and ``transferkit train --data out/index.csv``.

Example:
    >>> index = speak_dataset(["yes", "no"], "data/yes_no", voices=default_voices(20))  # doctest: +SKIP
"""
from __future__ import annotations

import csv
import functools
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transferkit.common.data.datasets import Dataset, register_dataset
from transferkit.common.io import atomic_write_text

ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd",
           "en-029", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
            "croak", "klatt", "klatt2", "klatt3", "Annie", "Andy", "aunty", "edward",
            "grandma", "grandpa", "linda", "max", "steph", "norbert", "quincy", "robert",
            "shelby", "travis", "victor", "zac", "anika", "benjamin", "boris", "david",
            "john", "paul", "rob", "michel", "Mike")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
KWS_WORDS = ("left", "right", "up", "down", "stop", "go")
FESTIVAL = "festival"


class SynthesiserMissing(RuntimeError):
    """espeak-ng / text2wave is not installed."""


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker: ``espeak-ng -v accent+variant -s speed -p pitch``."""

    accent: str
    variant: str = ""
    speed: int = 160
    pitch: int = 50
    synth: str = "espeak-ng"

    @property
    def name(self) -> str:
        if self.synth == FESTIVAL:
            return f"festival-{self.accent}-s{self.speed}"
        return f"{self.accent}+{self.variant or 'default'}-s{self.speed}-p{self.pitch}"


def default_voices(n: int = 100, seed: int = 0) -> tuple[Voice, ...]:
    """``n`` distinct espeak-ng voices: accent × variant pairs, each with its own rate
    (130–200 words/min) and pitch (25–75), drawn with ``seed``.

    Example:
        >>> len(default_voices(100)), default_voices(1)[0].synth
        (100, 'espeak-ng')
    """
    rng = np.random.default_rng(seed)
    pairs = [(a, v) for v in VARIANTS for a in ACCENTS]
    order = rng.permutation(len(pairs))[:n]
    return tuple(Voice(pairs[i][0], pairs[i][1], int(rng.integers(130, 201)),
                       int(rng.integers(25, 76))) for i in order)


def festival_voices(speeds=(130, 160, 200)) -> tuple[Voice, ...]:
    """Festival's Debian voice (``kal_diphone``) at several speaking rates.

    Example:
        >>> [v.name for v in festival_voices((160,))]
        ['festival-kal_diphone-s160']
    """
    return tuple(Voice(accent="kal_diphone", speed=s, synth=FESTIVAL) for s in speeds)


def _require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise SynthesiserMissing(f"{tool} is not installed (Debian/Ubuntu: apt-get install "
                                 f"{'festival' if tool == 'text2wave' else tool})")
    return path


def synthesise(word: str, voice: Voice, path: Path) -> Path:
    """Speak ``word`` in ``voice`` into the wav file ``path``.

    Raises:
        SynthesiserMissing: when the synthesiser is not installed.
        RuntimeError: when it fails or writes no audio.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if voice.synth == FESTIVAL:
        stretch = 160.0 / voice.speed  # Festival slows down as Duration_Stretch grows
        cmd = [_require("text2wave"), "-o", str(path), "-eval", f"(voice_{voice.accent})",
               "-eval", f"(Parameter.set 'Duration_Stretch {stretch:.3f})"]
        proc = subprocess.run(cmd, input=word, capture_output=True, text=True, check=False)
    else:
        spec = voice.accent + (f"+{voice.variant}" if voice.variant else "")
        cmd = [_require("espeak-ng"), "-v", spec, "-s", str(voice.speed), "-p",
               str(voice.pitch), "-w", str(path), word]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not path.is_file() or path.stat().st_size <= 44:
        raise RuntimeError(f"{cmd[0]} failed for {word!r} in {voice.name}: "
                           f"{proc.stderr.strip()[:200]}")
    return path


SYNTH_STAMP = ".synthesiser"  # in a speak_dataset folder: the versions that made its clips


def synthesiser_versions(voices) -> str:
    """One line per synthesiser the voices use, with its version (``espeak-ng --version``).

    Example:
        >>> synthesiser_versions(default_voices(2))  # doctest: +SKIP
        'espeak-ng: eSpeak NG text-to-speech: 1.51  Data at: ...\n'
    """
    return "".join(f"{synth}: {_version(synth)}\n" for synth in sorted({v.synth for v in voices}))


@functools.lru_cache(maxsize=None)
def _version(synth: str) -> str:
    program = _require("festival" if synth == FESTIVAL else "espeak-ng")
    proc = subprocess.run([program, "--version"], capture_output=True, text=True, check=False)
    return (proc.stdout.strip() or proc.stderr.strip()).splitlines()[0]


@functools.lru_cache(maxsize=None)
def _espeak_names(kind: str) -> frozenset:
    """Languages (``kind="all"``) or variant files (``"variant"``) espeak-ng knows."""
    arg = "--voices=variant" if kind == "variant" else "--voices"
    lines = subprocess.run([_require("espeak-ng"), arg], capture_output=True, text=True,
                           check=False).stdout.splitlines()[1:]
    # Columns: Pty Language Age/Gender VoiceName File; -v takes a language or a file name.
    cols = [ln.split() for ln in lines if len(ln.split()) > 4]
    names = [c[4] for c in cols] if kind == "variant" else \
        [c[1] for c in cols] + [c[4].rsplit("/", 1)[-1] for c in cols]
    return frozenset(n.removeprefix("!v/").lower() for n in names)


def check_voice(voice: Voice) -> None:
    """Raise ValueError for an accent or variant espeak-ng doesn't know: it would
    silently fall back to its default voice and merge two "voices" into one."""
    if voice.synth == FESTIVAL:
        return
    if voice.accent.lower() not in _espeak_names("all"):
        raise ValueError(f"espeak-ng has no voice {voice.accent!r} (see espeak-ng --voices)")
    if voice.variant and voice.variant.lower() not in _espeak_names("variant"):
        raise ValueError(f"espeak-ng has no variant {voice.variant!r} "
                         "(see espeak-ng --voices=variant)")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def speak_dataset(words, out_dir, voices=None, *, threads: int = 0,
                  overwrite: bool = False) -> Path:
    """Synthesise every word in every voice; returns the ``index.csv`` path.

    Args:
        words: The words (class labels) to speak.
        out_dir: Output folder (``<word>/<voice>.wav`` and ``index.csv``).
        voices: :class:`Voice` tuple; default :func:`default_voices` (100 voices).
        threads: Parallel synthesiser processes (0 = 2 × CPU cores; espeak is I/O-light).
        overwrite: Re-synthesise files that already exist.

    Example:
        >>> speak_dataset(DIGITS, "data/digits", default_voices(40))  # doctest: +SKIP
    """
    out = Path(out_dir)
    voices = tuple(voices) if voices is not None else default_voices()
    for voice in voices:
        check_voice(voice)
    jobs = [(w, v, out / _safe(w) / f"{_safe(v.name)}.wav") for w in words for v in voices]
    # Clips made by another synthesiser version sound different: never reuse them.
    stamp, made_by = out / SYNTH_STAMP, synthesiser_versions(voices)
    overwrite = overwrite or (stamp.is_file() and stamp.read_text() != made_by)
    todo = [j for j in jobs if overwrite or not j[2].is_file()]
    with ThreadPoolExecutor(threads or 2 * (os.cpu_count() or 1)) as pool:
        list(pool.map(lambda j: synthesise(*j), todo))
    atomic_write_text(stamp, made_by)
    rows = [(str(p.relative_to(out)), w, v.name) for w, v, p in jobs]
    with tempfile.TemporaryDirectory() as tmp:
        fh_path = Path(tmp) / "index.csv"
        with fh_path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["path", "label", "group"])
            writer.writerows(rows)
        atomic_write_text(out / "index.csv", fh_path.read_text())
    return out / "index.csv"


def _data_arguments(parser) -> None:
    parser.add_argument("--words", nargs="+", required=True,
                        help="words to speak (the class labels); 'digits' = zero..nine")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--voices", type=int, default=100, help="number of espeak-ng voices")
    parser.add_argument("--seed", type=int, default=0, help="seed for voice rate and pitch")
    parser.add_argument("--synth", choices=["espeak-ng", "festival"], default="espeak-ng")
    parser.add_argument("--threads", type=int, default=0, help="parallel processes (0 = auto)")


def _write_data(args) -> str:
    words = [w for word in args.words for w in (DIGITS if word == "digits" else (word,))]
    voices = festival_voices() if args.synth == FESTIVAL else \
        default_voices(args.voices, seed=args.seed)
    index = speak_dataset(words, args.out, voices, threads=args.threads)
    return f"{len(words)} words x {len(voices)} voices: {index}"


register_dataset(Dataset(
    "speak", "speech", "spoken words synthesised with espeak-ng (voice-grouped index.csv)",
    add_arguments=_data_arguments, write=_write_data,
    description="Writes OUT/<word>/<voice>.wav and OUT/index.csv (path,label,group); "
                "train/test splits of it keep each voice on one side."))
