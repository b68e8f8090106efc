#!/usr/bin/env python3
"""Writes tests/fixtures/styles_espeak/: a small DreamVoice-form multi-label layout of real
synthetic speech (espeak-ng voices, sox effects), for the SpeechMLC tests.

    python3 tools/make_styles_espeak.py        # needs espeak-ng and sox (Debian packages)

Sixteen speakers, each an espeak-ng voice variant with fixed speaking-style properties:
- gender: the variant (f1–f5, Annie, Alicia, Andrea female; m1–m7, Andy male);
- age: Teenager = higher pitch (-p 70–80) and faster speech (-s 185), Adult = -p 30–40, -s 150;
- spectral tilt: Bright = sox `treble +12 3k` + `highpass 250`, Dark = `lowpass 1800` + `bass +6`;
- roughness: Rough = sox `overdrive 18` + `tremolo 35 70` (a fast amplitude flutter),
  Smooth = none.
Each speaker reads three sentences; output is 16 kHz mono 16-bit WAV.

Eight simulated annotators vote on each pair (Female/Male, Adult/Teenager, Dark/Bright,
Rough/Smooth): each picks the speaker's true option with the speaker's clarity for that pair
(0.95 clear, 0.6 ambiguous), else the other option, so each pair's votes add up to 8 — the
DreamVoice form `file,speaker,annotators,<label>...`. A fixed seed makes the votes
reproducible; CI never runs this script, it reads the committed files.
"""
import csv
import os
import random
import subprocess
import tempfile

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "styles_espeak")
LABELS = ["Female", "Male", "Adult", "Teenager", "Dark", "Bright", "Rough", "Smooth"]
PAIRS = [("Female", "Male"), ("Adult", "Teenager"), ("Dark", "Bright"), ("Rough", "Smooth")]
SENTENCES = [
    "The boat is in the harbour.",
    "Please open the window.",
    "It will rain tonight.",
]
# name, variant, female, teen, bright, rough, clarity per pair: every property on 8 of the 16
# speakers, in different combinations; one pair per speaker is ambiguous on some speakers.
SPEAKERS = [
    ("spk01", "f1", True, False, True, False, (0.95, 0.95, 0.95, 0.95)),
    ("spk02", "f2", True, True, False, True, (0.95, 0.6, 0.95, 0.95)),
    ("spk03", "f3", True, False, False, False, (0.95, 0.95, 0.6, 0.95)),
    ("spk04", "f4", True, True, True, True, (0.95, 0.95, 0.95, 0.6)),
    ("spk05", "m1", False, False, False, True, (0.95, 0.95, 0.95, 0.95)),
    ("spk06", "m2", False, True, True, False, (0.95, 0.95, 0.6, 0.95)),
    ("spk07", "m3", False, False, True, True, (0.95, 0.6, 0.95, 0.95)),
    ("spk08", "m4", False, True, False, False, (0.95, 0.95, 0.95, 0.6)),
    ("spk09", "f5", True, False, False, True, (0.95, 0.95, 0.95, 0.95)),
    ("spk10", "Annie", True, True, True, False, (0.6, 0.95, 0.95, 0.95)),
    ("spk11", "Alicia", True, False, True, True, (0.95, 0.95, 0.95, 0.95)),
    ("spk12", "Andrea", True, True, False, False, (0.95, 0.95, 0.95, 0.95)),
    ("spk13", "m5", False, False, True, False, (0.95, 0.95, 0.95, 0.95)),
    ("spk14", "m6", False, True, False, True, (0.6, 0.95, 0.95, 0.95)),
    ("spk15", "m7", False, False, False, False, (0.95, 0.95, 0.95, 0.95)),
    ("spk16", "Andy", False, True, True, True, (0.95, 0.95, 0.95, 0.95)),
]
ANNOTATORS = 8


def main():
    rng = random.Random(1)
    wav_dir = os.path.join(OUT, "wav")
    os.makedirs(wav_dir, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, variant, female, teen, bright, rough, clarity in SPEAKERS:
            jitter = int(name[-2:]) % 3 * 5  # a little pitch variety within each age
            pitch, speed = (70 + jitter, 185) if teen else (30 + jitter, 150)
            effects = ["gain", "-10"]  # headroom for the boosts; "norm -3" restores the level
            effects += ["treble", "+12", "3k", "highpass", "250"] if bright else ["lowpass", "1800", "bass", "+6"]
            if rough:
                effects += ["overdrive", "18", "tremolo", "35", "70"]
            truth = {
                "Female": female, "Male": not female,
                "Adult": not teen, "Teenager": teen,
                "Dark": not bright, "Bright": bright,
                "Rough": rough, "Smooth": not rough,
            }
            for i, text in enumerate(SENTENCES):
                raw = os.path.join(tmp, f"{name}_{i}.wav")
                subprocess.run(
                    ["espeak-ng", "-v", f"en+{variant}", "-p", str(pitch), "-s", str(speed), "-w", raw, text],
                    check=True,
                )
                out = os.path.join(wav_dir, f"{name}_{i:03d}.wav")
                subprocess.run(
                    ["sox", raw, "-r", "16000", "-c", "1", "-b", "16", out, *effects, "norm", "-3"],
                    check=True,
                )
                votes = {}
                for (a, b), c in zip(PAIRS, clarity):
                    true_opt = a if truth[a] else b
                    other = b if true_opt == a else a
                    n = sum(rng.random() < c for _ in range(ANNOTATORS))
                    votes[true_opt] = n
                    votes[other] = ANNOTATORS - n
                rows.append([f"wav/{name}_{i:03d}.wav", name, ANNOTATORS] + [votes[l] for l in LABELS])
    with open(os.path.join(OUT, "manifest.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["file", "speaker", "annotators"] + LABELS)
        w.writerows(rows)
    print(f"wrote {len(rows)} utterances to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
