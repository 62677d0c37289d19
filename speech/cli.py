"""``transferkit data speak``: spoken-word datasets from espeak-ng (or Festival).

The main CLI hooks this in with ``add_speak_parser(data_subparsers)``; the parser sets
``handler=cmd_speak``. Nothing here imports TensorFlow.

Example:
    $ transferkit data speak --words zero one two --voices 40 --out data/digits
"""
from __future__ import annotations

import argparse


def add_speak_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``speak`` dataset verb to ``transferkit data``'s subparsers."""
    p = subparsers.add_parser(
        "speak", help="spoken words synthesised with espeak-ng (voice-grouped index.csv)",
        description="Writes OUT/<word>/<voice>.wav and OUT/index.csv (path,label,group); "
                    "train/test splits of it keep each voice on one side.")
    p.add_argument("--words", nargs="+", required=True,
                   help="words to speak (the class labels); 'digits' = zero..nine")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--voices", type=int, default=100, help="number of espeak-ng voices")
    p.add_argument("--seed", type=int, default=0, help="seed for voice rate and pitch")
    p.add_argument("--synth", choices=["espeak-ng", "festival"], default="espeak-ng")
    p.add_argument("--threads", type=int, default=0, help="parallel processes (0 = auto)")
    p.set_defaults(handler=cmd_speak)
    return p


def cmd_speak(args) -> int:
    """Handler for ``transferkit data speak``; prints the index path."""
    from transferkit.speech.speak import DIGITS, default_voices, festival_voices, speak_dataset

    words = [w for word in args.words for w in (DIGITS if word == "digits" else (word,))]
    voices = festival_voices() if args.synth == "festival" else \
        default_voices(args.voices, seed=args.seed)
    index = speak_dataset(words, args.out, voices, threads=args.threads)
    print(f"{len(words)} words x {len(voices)} voices: {index}")
    return 0
