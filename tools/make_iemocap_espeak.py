#!/usr/bin/env python3
"""Writes an IEMOCAP-layout corpus of synthetic speech (espeak-ng voices, sox effects) for trying
multi-task fine-tuning (the metadata paper) without the real corpus:

    python3 tools/make_iemocap_espeak.py OUT_DIR [--sessions 5] [--per-dialog 12]

needs espeak-ng and sox (Debian packages). Each session has a female and a male speaker (espeak-ng
variants) and two dialogs, `SesNNF_impro01` (improvised: each utterance its own sentence) and
`SesNNM_script01_1` (scripted: the same script in every session, read a little slower and
flatter). Emotions are simulated with prosody: neutral (speed 150, pitch 50), happy / excited
(faster, higher), angry (fast, loud, slightly overdriven), sad (slow, low, low-passed). The
layout is the real one: `SessionN/sentences/wav/<dialog>/<utt>.wav` (16 kHz mono), the dialog's
`EmoEvaluation` file (with a per-annotator line) and its `transcriptions` file, so the IEMOCAP
reader finds emotion, speaker, gender, style (impro / script) and the transcript of each
utterance.
"""
import argparse
import os
import random
import subprocess
import tempfile

CODES = ["neu", "hap", "ang", "sad", "exc"]
PROSODY = {
    # speed (words/min), pitch (0-99), amplitude, sox effects
    "neu": (150, 50, 100, []),
    "hap": (175, 72, 110, []),
    "exc": (185, 78, 120, []),
    "ang": (190, 58, 160, ["overdrive", "6"]),
    "sad": (115, 30, 80, ["lowpass", "2200"]),
}
IMPRO = [
    "I can not believe you did that again.",
    "We went to the beach last summer.",
    "Nobody told me about the meeting.",
    "That is the best news I heard all week.",
    "Just leave the keys on the table.",
    "My brother moved to another city.",
    "You never listen to what I say.",
    "The train was late this morning.",
    "I finally got the job I wanted.",
    "Our old dog passed away yesterday.",
    "Could you pass me the salt please.",
    "Why would anyone do such a thing.",
    "The garden looks lovely in spring.",
    "I lost my wallet on the bus.",
    "Let us go dancing tonight.",
    "He forgot my birthday again.",
]
SCRIPT = [
    "Where are you going?",
    "I am going out for a walk.",
    "At this hour of the night?",
    "I need some fresh air.",
    "Then I will come with you.",
    "No, I want to be alone.",
]
FEMALE = ["f1", "f2", "f3", "f4", "f5", "Annie", "Alicia"]
MALE = ["m1", "m2", "m3", "m4", "m5", "m6", "Andy"]


def speak(text, variant, code, scripted, jitter, out):
    speed, pitch, amp, effects = PROSODY[code]
    if scripted:
        speed -= 10
    pitch = max(0, min(99, pitch + jitter))
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw.wav")
        subprocess.run(
            ["espeak-ng", "-v", f"en+{variant}", "-s", str(speed), "-p", str(pitch),
             "-a", str(amp), "-w", raw, text],
            check=True,
        )
        subprocess.run(
            ["sox", raw, "-r", "16000", "-c", "1", "-b", "16", out, *effects, "norm", "-3"],
            check=True,
        )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--per-dialog", type=int, default=12)
    args = ap.parse_args()
    rng = random.Random(7)
    for s in range(1, args.sessions + 1):
        sdir = os.path.join(args.out, f"Session{s}")
        female, male = FEMALE[(s - 1) % len(FEMALE)], MALE[(s - 1) % len(MALE)]
        for dialog, scripted in [(f"Ses{s:02}F_impro01", False), (f"Ses{s:02}M_script01_1", True)]:
            wav_dir = os.path.join(sdir, "sentences", "wav", dialog)
            os.makedirs(wav_dir, exist_ok=True)
            evals = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
            trans = []
            t = 0.0
            for k in range(args.per_dialog):
                who = "F" if k % 2 == 0 else "M"
                utt = f"{dialog}_{who}{k:03}"
                code = CODES[(k * 3 + s) % len(CODES)]
                text = SCRIPT[k % len(SCRIPT)] if scripted else IMPRO[(k + 3 * s) % len(IMPRO)]
                jitter = rng.randint(-6, 6)
                out = os.path.join(wav_dir, f"{utt}.wav")
                speak(text, female if who == "F" else male, code, scripted, jitter, out)
                dur = os.path.getsize(out) / 32000.0
                evals.append(f"[{t:.4f} - {t + dur:.4f}]\t{utt}\t{code}\t[2.5000, 3.0000, 3.0000]")
                evals.append(f"C-E1:\t{code};\t()")
                evals.append("")
                trans.append(f"{utt} [{t:08.4f}-{t + dur:08.4f}]: {text}")
                t += dur + 0.5
            for sub, lines in [("EmoEvaluation", evals), ("transcriptions", trans)]:
                d = os.path.join(sdir, "dialog", sub)
                os.makedirs(d, exist_ok=True)
                with open(os.path.join(d, f"{dialog}.txt"), "w") as f:
                    f.write("\n".join(lines) + "\n")
    print(f"wrote {args.sessions} sessions to {args.out}")


if __name__ == "__main__":
    main()
