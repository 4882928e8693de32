"""PyTorch CPU peer of bench/train_speed.ts: training tokens/s of the same GPT and step.

Usage: python3 bench/train_speed.py --n-layer 4 --n-head 4 --d-model 128 --seq-len 64 \
           --batch 12 --vocab 65 --steps 20 --warmup 3 [--device cpu|cuda|auto]

One step = forward, backward, clip to 1.0, AdamW, on a fixed random batch (what kiln's step does).
Prints one JSON line: {"tokens_per_s", "step_ms", "cpu_ms" (process CPU time per step, all
threads), "threads", "torch"}.
"""

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "reference"))
from gpt_reference import GPT  # noqa: E402  (the parity test's model: same math as kiln's)


def main():
    ap = argparse.ArgumentParser()
    for name, default in [("n-layer", 4), ("n-head", 4), ("d-model", 128), ("seq-len", 64),
                          ("batch", 12), ("vocab", 65), ("steps", 20), ("warmup", 3),
                          ("threads", os.cpu_count() or 1)]:
        ap.add_argument(f"--{name}", type=int, default=default)
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto (cuda when available)")
    a = ap.parse_args()
    device = "cuda" if a.device == "auto" and torch.cuda.is_available() else a.device
    if device == "auto":
        device = "cpu"
    # fp32 means fp32: no TF32 tensor-core rounding on NVIDIA (kiln's kernels are plain fp32).
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    # PyTorch defaults to one thread per physical core; lavapipe uses every logical core.
    torch.set_num_threads(a.threads)
    cfg = {"vocab_size": a.vocab, "max_seq_len": a.seq_len, "n_layer": a.n_layer,
           "n_head": a.n_head, "d_model": a.d_model, "bias": True, "tie_embeddings": True,
           "positional": "learned"}
    torch.manual_seed(0)
    model = GPT(cfg).to(device)
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99))
    ids = torch.randint(0, a.vocab, (a.batch, a.seq_len), device=device)
    targets = torch.randint(0, a.vocab, (a.batch, a.seq_len), device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def step():
        opt.zero_grad(set_to_none=True)
        _, loss = model(ids, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        return loss

    for _ in range(a.warmup):
        step()
    sync()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(a.steps):
        loss = step()
    loss.item()
    sync()
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(json.dumps({
        "tokens_per_s": a.steps * a.batch * a.seq_len / elapsed,
        "step_ms": 1000 * elapsed / a.steps,
        "cpu_ms": 1000 * cpu / a.steps,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
    }))


if __name__ == "__main__":
    main()
