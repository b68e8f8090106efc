#!/usr/bin/env python3
"""Generates an EMODB-layout corpus of synthetic German emotional speech with espeak-ng and sox:
10 speakers × 10 sentences × 7 emotions = 700 utterances (16 kHz mono WAV, EMODB file names
such as 03a01Wa.wav), for checking models against the baselines on more than the demo corpus
(docs/baselines.md, "Deep models against the baselines").

    python3 tools/make_emotion_espeak.py OUT_DIR [--seed 1]   # needs espeak-ng and sox

Speakers are espeak-ng German voice variants (five female, five male) with their own base
pitch and rate. Each emotion changes prosody the way the acoustic literature describes it
(anger/happiness/fear: higher, wider or faster pitch; sadness/boredom: lower, narrower,
slower, quieter) through SSML <prosody>, plus a sox colouring (anger: mild overdrive;
sadness: low-pass; fear: tremolo). Every utterance gets random jitter of pitch, rate and
volume so that classes overlap like real acted speech rather than separating trivially. The
output is not committed (about 45 MB); this script reproduces it from the seed.
"""
import argparse
import os
import random
import subprocess
import tempfile

SPEAKERS = [  # EMODB speaker id, espeak-ng variant, base pitch (0-99), base rate (wpm)
    ("03", "m1", 40, 165), ("08", "f1", 62, 170), ("09", "f2", 58, 160), ("10", "m2", 35, 175),
    ("11", "m3", 45, 155), ("12", "m4", 38, 170), ("13", "f3", 66, 165), ("14", "f4", 55, 175),
    ("15", "m5", 42, 160), ("16", "f5", 60, 155),
]
SENTENCES = [
    ("a01", "Der Lappen liegt auf dem Eisschrank."),
    ("a02", "Das will sie am Mittwoch abgeben."),
    ("a04", "Heute abend könnte ich es ihm sagen."),
    ("a05", "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück."),
    ("a07", "In sieben Stunden wird es soweit sein."),
    ("b01", "Was sind denn das für Tüten, die da unter dem Tisch stehen?"),
    ("b02", "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter."),
    ("b03", "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht."),
    ("b09", "Ich will das eben wegbringen und dann mit Karl was trinken gehen."),
    ("b10", "Die wird auf dem Platz sein, wo wir sie immer hinlegen."),
]
# EMODB letter: pitch change %, rate factor, SSML pitch range, volume dB, sox colouring
EMOTIONS = {
    "W": (12, 1.10, "x-high", 5.0, ["overdrive", "6"]),        # anger
    "L": (-12, 0.85, "x-low", -3.0, []),                        # boredom
    "E": (-6, 0.82, "high", 0.0, ["bass", "+4"]),               # disgust
    "A": (28, 1.22, "medium", 1.0, ["tremolo", "9", "40"]),     # fear
    "F": (22, 1.08, "x-high", 3.0, []),                         # happiness
    "T": (-8, 0.78, "low", -5.0, ["lowpass", "3000"]),          # sadness
    "N": (0, 1.0, "medium", 0.0, []),                           # neutral
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    wav_dir = os.path.join(args.out, "wav")
    os.makedirs(wav_dir, exist_ok=True)
    n = 0
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw.wav")
        for spk, variant, base_pitch, base_rate in SPEAKERS:
            for code, text in SENTENCES:
                for emo, (dp, rate, prange, vol, fx) in EMOTIONS.items():
                    pitch = dp + rng.uniform(-10, 10)
                    r = rate * rng.uniform(0.92, 1.08)
                    v = vol + rng.uniform(-3, 3)
                    ssml = (f'<speak><prosody pitch="{pitch:+.0f}%" range="{prange}" '
                            f'rate="{r * 100:.0f}%">{text}</prosody></speak>')
                    subprocess.run(["espeak-ng", "-m", "-v", f"de+{variant}", "-p", str(base_pitch),
                                    "-s", str(base_rate), "-w", raw, ssml], check=True)
                    out = os.path.join(wav_dir, f"{spk}{code}{emo}a.wav")
                    subprocess.run(["sox", raw, "-r", "16000", "-c", "1", "-b", "16", out,
                                    *fx, "gain", f"{v:.1f}", "rate", "16000"], check=True,
                                   stderr=subprocess.DEVNULL)
                    n += 1
    print(f"wrote {n} files to {wav_dir}")


if __name__ == "__main__":
    main()
