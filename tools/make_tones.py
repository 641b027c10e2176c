"""Generate the console's alarm tones (resources/sounds/*.wav) from first principles.

    python tools/make_tones.py

Short, distinct, not shrill: the G1 tone is two rising beeps; the emergency tone is a fast
alternating two-tone (the pattern people already read as "officer needs help"). Plain 16-bit
mono PCM so Qt Multimedia's QSoundEffect plays it with no codec.
"""
from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 22050
OUT = Path(__file__).resolve().parent.parent / "resources" / "sounds"


def tone(freq: float, seconds: float, volume: float = 0.45) -> list[int]:
    n = int(RATE * seconds)
    fade = int(RATE * 0.01)  # 10 ms ramps: no clicks
    out = []
    for i in range(n):
        env = min(1.0, i / fade, (n - i) / fade)
        out.append(int(32767 * volume * env * math.sin(2 * math.pi * freq * i / RATE)))
    return out


def silence(seconds: float) -> list[int]:
    return [0] * int(RATE * seconds)


def write(name: str, samples: list[int]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with wave.open(str(OUT / name), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(struct.pack(f"<{len(samples)}h", *samples))


def main() -> None:
    write("g1.wav", tone(880, 0.14) + silence(0.06) + tone(1175, 0.2))
    emergency: list[int] = []
    for _ in range(4):
        emergency += tone(1400, 0.12, 0.5) + tone(950, 0.12, 0.5)
    write("emergency.wav", emergency)


if __name__ == "__main__":
    main()
