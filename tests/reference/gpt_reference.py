"""Plain-PyTorch GPT with kiln's math, the judge of kiln's PyTorch parity test.

Usage: python3 gpt_reference.py DIR

Reads DIR/config.json (model config, optimizer settings), DIR/weights.safetensors (kiln's initial
parameters, GPT-2/Hugging Face names, Linear weights [out, in]) and DIR/batch.safetensors (int32
`ids` and `targets`, shape [B, T], target -1 = ignored). Writes DIR/out.safetensors (`logits` and
`grad.<name>` for every parameter) and DIR/out.json (`loss`, `losses`: the losses of `adam_steps`
AdamW steps on the same batch, each measured before its update).

The safetensors reader/writer is inlined (a dozen lines) because Debian's python3-torch ships
without the `safetensors` package.
"""

import json
import math
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "I32": torch.int32, "F64": torch.float64, "I64": torch.int64}
NAMES = {v: k for k, v in DTYPES.items()}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = bytearray(data[8 + n + begin : 8 + n + end])
        t = torch.frombuffer(raw, dtype=DTYPES[info["dtype"]]) if raw else torch.zeros(0)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header)
    text += " " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for raw in blobs:
            f.write(raw)


def rope(x, base):
    """Rotary embedding on [B, H, T, D], rotating the pairs (x[i], x[i + D/2]) (GPT-NeoX form)."""
    _, _, t, d = x.shape
    half = d // 2
    inv_freq = base ** (-torch.arange(half, dtype=torch.float64) * 2 / d)
    angles = torch.arange(t, dtype=torch.float64)[:, None] * inv_freq[None, :]
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, bias = cfg["d_model"], cfg["bias"]
        self.n_head, self.rope = cfg["n_head"], cfg["positional"] == "rope"
        self.rope_base = cfg.get("rope_base", 10000.0)
        self.c_attn = nn.Linear(d, 3 * d, bias=bias)
        self.c_proj = nn.Linear(d, d, bias=bias)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        if self.rope:
            q, k = rope(q, self.rope_base), rope(k, self.rope_base)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
        mask = torch.ones(t, t, dtype=torch.bool).tril()
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, bias = cfg["d_model"], cfg["bias"]
        d_ffn = cfg.get("d_ffn") or 4 * d
        self.c_fc = nn.Linear(d, d_ffn, bias=bias)
        self.c_proj = nn.Linear(d_ffn, d, bias=bias)

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        eps = cfg.get("ln_eps", 1e-5)
        self.ln_1 = nn.LayerNorm(cfg["d_model"], eps=eps, elementwise_affine=True)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg["d_model"], eps=eps, elementwise_affine=True)
        self.mlp = MLP(cfg)
        if not cfg["bias"]:
            self.ln_1.bias, self.ln_2.bias = None, None

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d = cfg["d_model"]
        self.wte = nn.Embedding(cfg["vocab_size"], d)
        if cfg["positional"] == "learned":
            self.wpe = nn.Embedding(cfg["max_seq_len"], d)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg["n_layer"]))
        self.ln_f = nn.LayerNorm(d, eps=cfg.get("ln_eps", 1e-5))
        if not cfg["bias"]:
            self.ln_f.bias = None
        if not cfg["tie_embeddings"]:
            self.lm_head = nn.Linear(d, cfg["vocab_size"], bias=False)

    def forward(self, ids, targets):
        x = self.wte(ids)
        if self.cfg["positional"] == "learned":
            x = x + self.wpe(torch.arange(ids.shape[1]))
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        head = self.wte.weight if self.cfg["tie_embeddings"] else self.lm_head.weight
        logits = x @ head.t()
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return logits, loss


def run_parity(workdir, build_model):
    """The parity protocol both reference scripts share: `build_model(cfg["model"])` gets kiln's
    weights and batch from workdir; writes logits, gradients, the loss and 10 AdamW-step losses."""
    with open(f"{workdir}/config.json") as f:
        cfg = json.load(f)
    torch.manual_seed(0)
    model = build_model(cfg["model"])
    weights = read_safetensors(f"{workdir}/weights.safetensors")
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if missing or unexpected:
        raise SystemExit(f"weights do not match the model: missing {missing}, unexpected {unexpected}")
    batch = read_safetensors(f"{workdir}/batch.safetensors")
    ids, targets = batch["ids"].long(), batch["targets"].long()

    logits, loss = model(ids, targets)
    loss.backward()
    out = {"logits": logits}
    for name, p in model.named_parameters():
        out[f"grad.{name}"] = p.grad
    write_safetensors(f"{workdir}/out.safetensors", out)

    opt = cfg["optimizer"]
    params = list(model.parameters())
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": opt["weight_decay"]},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    adam = torch.optim.AdamW(groups, lr=opt["lr"], betas=tuple(opt["betas"]), eps=opt["eps"])
    losses = []
    for _ in range(opt["steps"]):
        adam.zero_grad(set_to_none=True)
        _, step_loss = model(ids, targets)
        step_loss.backward()
        torch.nn.utils.clip_grad_norm_(params, opt["max_grad_norm"])
        adam.step()
        losses.append(step_loss.item())
    with open(f"{workdir}/out.json", "w") as f:
        json.dump({"loss": loss.item(), "losses": losses}, f)


if __name__ == "__main__":
    run_parity(sys.argv[1], GPT)
