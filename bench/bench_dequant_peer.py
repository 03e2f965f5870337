"""gguf-py's numpy dequantization (gguf.quants.dequantize, the reference the fixtures
use) timed on the same tensors as bench_dequant.c: median of RUNS, after one untimed
pass; prints the same TSV columns and the same TOTAL line. With --make OUT it first writes OUT, a GGUF holding
one random tensor of 4,194,304 elements per type the reader dequantizes.
    python bench/bench_dequant_peer.py [--make OUT] FILE.gguf [RUNS] [NAME ...]"""
import statistics
import sys
import time

import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q

TYPES = [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q4_K, Q.Q5_K, Q.Q6_K]
SCALES = {Q.Q8_0: [0], Q.Q4_0: [0], Q.Q4_1: [0, 2], Q.Q5_0: [0], Q.Q5_1: [0, 2], Q.Q4_K: [0, 2], Q.Q5_K: [0, 2],
          Q.Q6_K: [208]}


def make(path, n=1 << 22, cols=4096):
    rng = np.random.default_rng(7)
    w = gguf.GGUFWriter(path, "bench")
    for qt in TYPES:
        if qt == Q.F32:
            raw = rng.standard_normal(n).astype(np.float32).view(np.uint8)
        elif qt in (Q.F16, Q.BF16):
            raw = (rng.standard_normal(n).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16).view(np.uint8)
            if qt == Q.F16:
                raw = rng.standard_normal(n).astype(np.float16).view(np.uint8)
        else:
            block, size = gguf.GGML_QUANT_SIZES[qt]
            raw = rng.integers(0, 256, (n // block, size), dtype=np.uint8)
            for off in SCALES[qt]:
                raw[:, off:off + 2] = (rng.standard_normal(n // block) * 0.05).astype(np.float16).view(np.uint8).reshape(-1, 2)
        block, size = gguf.GGML_QUANT_SIZES[qt]
        w.add_tensor(qt.name, raw.reshape(n // cols, cols // block * size), raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    args = sys.argv[1:]
    if args[0] == "--make":
        make(args[1])
        args = args[2:]
    path, runs = args[0], int(args[1]) if len(args) > 1 else 9
    names = set(args[2:])
    r = gguf.GGUFReader(path)
    print("tensor\ttype\telements\twall_ms\tcpu_ms\tMelem_per_s")
    tw = tc = tn = 0
    for t in r.tensors:
        if t.tensor_type not in TYPES or (names and t.name not in names):
            continue
        gguf.quants.dequantize(t.data, t.tensor_type)
        wall, cpu = [], []
        for _ in range(runs):
            w, c = time.perf_counter(), time.process_time()
            gguf.quants.dequantize(t.data, t.tensor_type)
            wall.append(time.perf_counter() - w)
            cpu.append(time.process_time() - c)
        mw, mc = statistics.median(wall), statistics.median(cpu)
        print(f"{t.name}\t{t.tensor_type.name}\t{int(t.n_elements)}\t{mw * 1e3:.3f}\t{mc * 1e3:.3f}\t{t.n_elements / mw * 1e-6:.1f}")
        tw, tc, tn = tw + mw, tc + mc, tn + int(t.n_elements)
    print(f"TOTAL\t-\t{tn}\t{tw * 1e3:.3f}\t{tc * 1e3:.3f}\t{tn / tw * 1e-6 if tw else 0:.1f}")


main()
