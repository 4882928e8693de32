"""Plain-PyTorch encoder-decoder (encdec) and latent encoder-decoder (latent_encdec) with kiln's
math, the judge of kiln's encoder-decoder parity test.

Usage: python3 encdec_reference.py DIR

Same files as gpt_reference.py (whose parity protocol, `run_parity`, and MLP it reuses): DIR/config.json,
DIR/weights.safetensors, DIR/batch.safetensors (int32 `ids`, `targets` [B, T]; the first
`source_len` positions of a row are the source, padded with `pad_id`, the rest the decoder's
inputs). Writes DIR/out.safetensors (`logits` of the decoder positions [B, T - S, V] and
`grad.<name>`) and DIR/out.json (`loss`, `losses` of AdamW steps).
"""

import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt_reference import MLP, run_parity  # noqa: E402


def attend(q, k, v, n_head, causal, key_keep):
    """softmax(q k^T / sqrt(D) + masks) v over heads; key_keep [B, Tk] bool or None."""
    b, tq, c = q.shape
    tk = k.shape[1]
    q, k, v = (z.view(b, -1, n_head, c // n_head).transpose(1, 2) for z in (q, k, v))
    att = (q @ k.transpose(-2, -1)) / math.sqrt(c // n_head)
    if causal:
        allowed = torch.ones(tq, tk, dtype=torch.bool).tril(tk - tq)
        att = att.masked_fill(~allowed, float("-inf"))
    if key_keep is not None:
        att = att.masked_fill(~key_keep[:, None, None, :], float("-inf"))
    y = att.softmax(dim=-1) @ v
    return y.transpose(1, 2).contiguous().view(b, tq, c)


def layer_norm(cfg):
    ln = nn.LayerNorm(cfg["d_model"], eps=cfg.get("ln_eps", 1e-5))
    if not cfg["bias"]:
        ln.bias = None
    return ln


class SelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["d_model"]
        self.n_head = cfg["n_head"]
        self.c_attn = nn.Linear(d, 3 * d, bias=cfg["bias"])
        self.c_proj = nn.Linear(d, d, bias=cfg["bias"])

    def forward(self, x, causal, key_keep=None):
        q, k, v = self.c_attn(x).split(x.shape[-1], dim=2)
        return self.c_proj(attend(q, k, v, self.n_head, causal, key_keep))


class CrossAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d = cfg["d_model"]
        self.n_head = cfg["n_head"]
        self.q_proj = nn.Linear(d, d, bias=cfg["bias"])
        self.kv_proj = nn.Linear(d, 2 * d, bias=cfg["bias"])
        self.c_proj = nn.Linear(d, d, bias=cfg["bias"])

    def forward(self, x, memory, key_keep):
        k, v = self.kv_proj(memory).split(x.shape[-1], dim=2)
        return self.c_proj(attend(self.q_proj(x), k, v, self.n_head, False, key_keep))


class EncoderBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1, self.attn = layer_norm(cfg), SelfAttention(cfg)
        self.ln_2, self.mlp = layer_norm(cfg), MLP(cfg)

    def forward(self, x, keep):
        x = x + self.attn(self.ln_1(x), False, keep)
        return x + self.mlp(self.ln_2(x))


class DecoderBlock(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1, self.attn = layer_norm(cfg), SelfAttention(cfg)
        self.ln_2, self.cross_attn = layer_norm(cfg), CrossAttention(cfg)
        self.ln_3, self.mlp = layer_norm(cfg), MLP(cfg)

    def forward(self, x, memory, keep):
        x = x + self.attn(self.ln_1(x), True)
        x = x + self.cross_attn(self.ln_2(x), memory, keep)
        return x + self.mlp(self.ln_3(x))


class Latent(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.tokens = nn.Parameter(torch.zeros(cfg.get("num_latent", 8), cfg["d_model"]))
        self.ln_1, self.cross_attn = layer_norm(cfg), CrossAttention(cfg)
        self.ln_2, self.mlp = layer_norm(cfg), MLP(cfg)
        self.ln_f = layer_norm(cfg)

    def forward(self, memory, keep):
        z = self.tokens.expand(memory.shape[0], -1, -1)
        z = z + self.cross_attn(self.ln_1(z), memory, keep)
        z = z + self.mlp(self.ln_2(z))
        return self.ln_f(z)


class Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wpe = nn.Embedding(cfg["source_len"], cfg["d_model"])
        n = cfg.get("n_encoder_layer") or cfg["n_layer"]
        self.h = nn.ModuleList(EncoderBlock(cfg) for _ in range(n))
        self.ln_f = layer_norm(cfg)


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.h = nn.ModuleList(DecoderBlock(cfg) for _ in range(cfg["n_layer"]))


class EncDec(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d = cfg["d_model"]
        self.wte = nn.Embedding(cfg["vocab_size"], d)
        self.encoder = Encoder(cfg)
        if cfg["name"] == "latent_encdec":
            self.latent = Latent(cfg)
        self.wpe = nn.Embedding(cfg["max_seq_len"] - cfg["source_len"], d)
        self.decoder = Decoder(cfg)
        self.ln_f = layer_norm(cfg)
        if not cfg["tie_embeddings"]:
            self.lm_head = nn.Linear(d, cfg["vocab_size"], bias=False)

    def forward(self, ids, targets):
        cfg, s = self.cfg, self.cfg["source_len"]
        src, tgt = ids[:, :s], ids[:, s:]
        keep = src != cfg["pad_id"]
        x = self.wte(src) + self.encoder.wpe(torch.arange(s))
        for block in self.encoder.h:
            x = block(x, keep)
        memory = self.encoder.ln_f(x)
        if cfg["name"] == "latent_encdec":
            latents = self.latent(memory, keep)
            factor = cfg.get("bottleneck_factor", 1.0)
            if factor == 1:
                memory, keep = latents, None
            else:
                ones = torch.ones(latents.shape[:2], dtype=torch.bool)
                memory = torch.cat([latents, (1 - factor) * memory], dim=1)
                keep = torch.cat([ones, keep], dim=1)
        y = self.wte(tgt) + self.wpe(torch.arange(tgt.shape[1]))
        for block in self.decoder.h:
            y = block(y, memory, keep)
        y = self.ln_f(y)
        head = self.wte.weight if cfg["tie_embeddings"] else self.lm_head.weight
        logits = y @ head.t()
        loss = F.cross_entropy(
            logits.reshape(-1, logits.size(-1)), targets[:, s:].reshape(-1), ignore_index=-1
        )
        return logits, loss


if __name__ == "__main__":
    run_parity(sys.argv[1], EncDec)
