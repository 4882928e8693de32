"""Writes a Hugging Face GPT-2-layout checkpoint of a random tiny GPT, and that GPT's logits.

Usage: python3 hf_gpt2_reference.py DIR

Reads DIR/config.json (kiln model config) and DIR/batch.safetensors (int32 `ids`). Writes
DIR/hf/config.json and DIR/hf/model.safetensors the way `save_pretrained` lays out GPT-2: keys
prefixed `transformer.`, Conv1D weights stored [in, out], causal-mask buffers `attn.bias` and
`attn.masked_bias`, no lm_head (tied). Then DIR/logits.safetensors: the PyTorch model's logits.
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
from gpt_reference import GPT, read_safetensors, write_safetensors  # noqa: E402

CONV1D = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


def main(workdir):
    with open(f"{workdir}/config.json") as f:
        cfg = json.load(f)["model"]
    torch.manual_seed(7)
    model = GPT(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.02) if p.dim() >= 2 else p.uniform_(-0.5, 1.5)
    hf = {}
    t = cfg["max_seq_len"]
    for name, p in model.state_dict().items():
        value = p.t().contiguous() if name.endswith(CONV1D) else p
        hf[f"transformer.{name}"] = value
    for i in range(cfg["n_layer"]):
        hf[f"transformer.h.{i}.attn.bias"] = torch.ones(t, t).tril().view(1, 1, t, t)
        hf[f"transformer.h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    os.makedirs(f"{workdir}/hf", exist_ok=True)
    write_safetensors(f"{workdir}/hf/model.safetensors", hf)
    with open(f"{workdir}/hf/config.json", "w") as f:
        json.dump({
            "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
            "activation_function": "gelu_new", "vocab_size": cfg["vocab_size"],
            "n_positions": cfg["max_seq_len"], "n_ctx": cfg["max_seq_len"],
            "n_embd": cfg["d_model"], "n_layer": cfg["n_layer"], "n_head": cfg["n_head"],
            "n_inner": None, "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True,
        }, f)
    ids = read_safetensors(f"{workdir}/batch.safetensors")["ids"].long()
    with torch.no_grad():
        logits, _ = model(ids, torch.full_like(ids, -1).index_fill_(1, torch.tensor([0]), 0))
    write_safetensors(f"{workdir}/logits.safetensors", {"logits": logits})


if __name__ == "__main__":
    main(sys.argv[1])
