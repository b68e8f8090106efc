#!/usr/bin/env bash
# Writes the small non-WAV fixtures of tests/readers.rs (FLAC, OGG/Vorbis with sox; MP3 with the
# `lameenc` PyPI package, since Debian's sox has no MP3 encoder). CI never runs this.
set -euo pipefail
cd "$(dirname "$0")/../tests/fixtures/audio"
sox -n -r 22050 -c 2 tone.flac synth 0.4 sine 440 vol 0.5
sox -n -r 44100 -c 1 tone.ogg synth 0.4 sine 440 vol 0.5
python3 - <<'PY'
import math, struct
import lameenc
sr = 44100
pcm = b"".join(struct.pack("<h", int(16000 * math.sin(2 * math.pi * 440 * i / sr))) for i in range(int(0.4 * sr)))
enc = lameenc.Encoder()
enc.set_bit_rate(64); enc.set_in_sample_rate(sr); enc.set_channels(1); enc.set_quality(2)
open("tone.mp3", "wb").write(enc.encode(pcm) + enc.flush())
PY
ls -la
