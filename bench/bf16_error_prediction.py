#!/usr/bin/env python3
"""Predicts the error that bf16 tensor-core GEMMs (extract --gemm bf16: both operands rounded
to bf16, f32 accumulate) put into a forward pass, without a GPU: transformers on the CPU
with every Linear / Conv1D input and weight rounded to bf16 before an f32 product (a
product of two bf16 numbers is exact in f32, so this is the same arithmetic up to the
summation order). Prints the relative L2 error of the last hidden states (real tokens)
against plain f32 for the models tests/gpu_forward.c uses; its bf16 bound (3e-2) comes
from these figures (bench/RESULTS-gpu.md).
  .deps/venv/bin/python bench/bf16_error_prediction.py"""
import os

import torch
import torch.nn.functional as F
from transformers import AutoModel
from transformers.pytorch_utils import Conv1D

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
MODELS = ["tests/fixtures/models/bert-tiny", "tests/fixtures/models/gpt2-tiny",
          "tests/fixtures/models/vit-tiny", ".deps/models/all-MiniLM-L6-v2"]
linear = F.linear
conv_forward = Conv1D.forward


def bf(t):
    return t.to(torch.bfloat16).float()


def conv_bf16(self, x):
    y = torch.addmm(self.bias, bf(x.view(-1, x.size(-1))), bf(self.weight))
    return y.view(x.size()[:-1] + (self.nf,))


def main():
    torch.manual_seed(0)
    for name in MODELS:
        path = os.path.join(ROOT, name)
        if not os.path.isdir(path):
            print(f"{name}: absent")
            continue
        m = AutoModel.from_pretrained(path).eval()
        cfg = m.config
        if cfg.model_type == "vit":
            inp = {"pixel_values": torch.rand(3, 3, cfg.image_size, cfg.image_size) * 2 - 1}
        else:
            T = 40
            mask = torch.ones(3, T, dtype=torch.long)
            mask[1, T - 7:] = 0
            mask[2, 3:] = 0
            inp = {"input_ids": torch.randint(0, cfg.vocab_size, (3, T)), "attention_mask": mask}
        outs = []
        for rounded in (False, True):
            F.linear = (lambda x, w, b=None: linear(bf(x), bf(w), b)) if rounded else linear
            Conv1D.forward = conv_bf16 if rounded else conv_forward
            with torch.no_grad():
                outs.append(m(**inp).last_hidden_state)
        F.linear, Conv1D.forward = linear, conv_forward
        a, b = outs
        if "attention_mask" in inp:
            keep = inp["attention_mask"].bool()
            a, b = a[keep], b[keep]
        print(f"{name}: bf16 GEMMs, relative L2 error of the last hidden states {float((a - b).norm() / a.norm()):.2e}")


if __name__ == "__main__":
    main()
