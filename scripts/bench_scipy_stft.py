#!/usr/bin/env python3
"""Times scipy.signal.stft on the same cs16 IQ the edge_pipeline bench uses (one core).

Usage: python3 scripts/bench_scipy_stft.py FILE.cs16 SAMPLE_RATE NFFT HOP
Prints one line: `scipy.signal.stft <ms> ms`. Needs numpy and scipy (pip install scipy).
"""
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy import signal  # noqa: E402


def main() -> None:
    path, fs, nfft, hop = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    raw = np.fromfile(path, dtype="<i2").astype(np.float32) / 32768.0
    best = float("inf")
    for _ in range(7):
        t = time.perf_counter()
        x = raw[0::2] + 1j * raw[1::2]  # conversion, as the Rust path does
        _, _, z = signal.stft(x, fs=fs, window="hann", nperseg=nfft, noverlap=nfft - hop,
                              return_onesided=False, boundary=None, padded=False)
        _ = np.abs(z) ** 2  # power, as the Rust path does
        best = min(best, time.perf_counter() - t)
    print(f"scipy.signal.stft {best * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
