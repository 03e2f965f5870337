"""tokenizers_peer.py - the same measurement as tokenizers_speed.c with Hugging Face
`tokenizers` (Rust): one thread over the lines (encode per line), and encode_batch on
all cores. Prints one JSON object.
  python tokenizers_peer.py MODEL_DIR bert|gpt2|llama TEXT_FILE [REPS]
(llama: the folder's tokenizer.json, as the C side reads it for any decoder model type)"""
import json
import os
import sys
import time

from tokenizers import Tokenizer, models, pre_tokenizers


def load(d, kind):
    if kind in ("bert", "llama"):
        tok = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
        tok.no_padding()
        tok.no_truncation()
        return tok
    tok = Tokenizer(models.BPE.from_file(os.path.join(d, "vocab.json"), os.path.join(d, "merges.txt")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.add_special_tokens(["<|endoftext|>"])
    return tok


def main():
    d, kind, path = sys.argv[1:4]
    reps = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    with open(path, encoding="utf-8", newline="") as f:   # keep "\r" as the C side does
        lines = f.read().split("\n")[:-1]
    nbytes = os.path.getsize(path)
    tok = load(d, kind)
    best = 1e30
    for _ in range(reps):
        t0 = time.perf_counter()
        n = sum(len(tok.encode(line, add_special_tokens=False).ids) for line in lines)
        best = min(best, time.perf_counter() - t0)
    t0 = time.perf_counter()
    tok.encode_batch(lines, add_special_tokens=False)
    batch = time.perf_counter() - t0
    print(json.dumps({"bytes": nbytes, "tokens": n, "seconds": round(best, 4), "mb_per_s": round(nbytes / best / 1e6, 2),
                      "batch_seconds": round(batch, 4), "batch_mb_per_s": round(nbytes / batch / 1e6, 2),
                      "threads": os.cpu_count()}))


if __name__ == "__main__":
    main()
