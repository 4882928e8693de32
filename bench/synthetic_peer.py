"""PyTorch peer for the synthetic configs: the same model shape, data format, loss mask, batch,
AdamW and schedule as kiln's configs/{multiplication,histogram,rrxor}.yaml, on the CPU, so a
recipe can be searched in minutes and a kiln run compared step for step.

    /usr/bin/python3 bench/synthetic_peer.py multiplication --lr 1e-3 --wd 0.5 --std 0.04
    /usr/bin/python3 bench/synthetic_peer.py histogram --steps 2000
    /usr/bin/python3 bench/synthetic_peer.py rrxor --steps 1500 --batch 64 --lr 2e-3 --wd 0

Prints `step train_loss val_loss [exact_match]` at every --every steps. Held-out sets differ from
kiln's (kiln splits by a hash of the prompt), so compare trajectories, not digits.
"""

import argparse
import math
import random
import time

import torch

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
parser.add_argument("task", choices=["multiplication", "histogram", "rrxor"])
parser.add_argument("--d-model", type=int, default=128)
parser.add_argument("--d-ffn", type=int, default=0, help="MLP width; 0: 4·d_model")
parser.add_argument("--std", type=float, default=0.02, help="weights' and embeddings' init std")
parser.add_argument("--n-layer", type=int, default=2)
parser.add_argument("--n-head", type=int, default=4)
parser.add_argument("--batch", type=int, default=256)
parser.add_argument("--steps", type=int, default=2500)
parser.add_argument("--lr", type=float, default=3e-3)
parser.add_argument("--wd", type=float, default=0.1)
parser.add_argument("--dropout", type=float, default=0.0)
parser.add_argument("--warmup", type=int, default=50)
parser.add_argument("--every", type=int, default=250)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--untied", action="store_true", help="a separate LM head, not wte")
parser.add_argument("--rope", action="store_true", help="rotary positions instead of learned")
parser.add_argument("--torch-init", action="store_true",
                    help="PyTorch's default Linear biases (uniform) and c_proj std 0.02 instead of "
                         "kiln's GPT-2 init (zero biases, c_proj 0.02/sqrt(2 n_layer))")
parser.add_argument("--decay-all", action="store_true",
                    help="weight decay on every parameter, not only on matrices and embeddings")
parser.add_argument("--format", choices=["compact", "spaced", "pause"], default="compact",
                    help="multiplication: 91*94=1390, 9 1 * 9 4 #### 1 3 9 0 or 91*94=1 3 9 0")
parser.add_argument("--min-len", type=int, default=5, help="histogram string lengths")
parser.add_argument("--max-len", type=int, default=12)
parser.add_argument("--letters", type=int, default=52, help="histogram: the first k of a-zA-Z")
parser.add_argument("--n-ctx", type=int, default=12, help="rrxor tokens after BOS")
args = parser.parse_args()
torch.manual_seed(args.seed)
torch.set_num_threads(1)
IGNORE = -1


class Block(torch.nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln_1, self.ln_2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
        self.heads = heads
        self.c_attn, self.c_proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
        f = args.d_ffn or 4 * d
        self.mlp = torch.nn.Sequential(torch.nn.Linear(d, f), torch.nn.GELU(approximate="tanh"),
                                       torch.nn.Linear(f, d))
        self.drop = torch.nn.Dropout(args.dropout)  # residual dropout only, as in kiln

    def forward(self, x):
        t = x.shape[1]
        causal = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
        x = x + self.drop(self.attention(self.ln_1(x), causal))
        return x + self.drop(self.mlp(self.ln_2(x)))


    def attention(self, x, causal):
        b, t, d = x.shape
        q, k, v = (z.view(b, t, self.heads, -1).transpose(1, 2) for z in self.c_attn(x).split(d, 2))
        if args.rope:
            q, k = rope(q), rope(k)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
        y = scores.masked_fill(causal, float("-inf")).softmax(-1) @ v
        return self.c_proj(y.transpose(1, 2).reshape(b, t, d))


def rope(x):
    """Rotary embedding, pairs (i, i + half) rotated by position / 10000^(2i / head_dim)."""
    t, half = x.shape[-2], x.shape[-1] // 2
    angle = torch.arange(t)[:, None] / 10000 ** (torch.arange(half)[None, :] / half)
    cos, sin = angle.cos(), angle.sin()
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], -1)


class GPT(torch.nn.Module):
    """nanoGPT's shape: learned positions, pre-LN blocks, head tied to the token embedding."""

    def __init__(self, vocab, seq_len):
        super().__init__()
        d = args.d_model
        self.wte, self.wpe = torch.nn.Embedding(vocab, d), torch.nn.Embedding(seq_len, d)
        self.h = torch.nn.ModuleList([Block(d, args.n_head) for _ in range(args.n_layer)])
        self.ln_f = torch.nn.LayerNorm(d)
        self.lm_head = torch.nn.Linear(d, vocab, bias=False) if args.untied else None
        for name, p in self.named_parameters():
            if p.dim() > 1:
                proj = name.endswith("c_proj.weight") or name.endswith("mlp.2.weight")
                std = args.std / math.sqrt(2 * args.n_layer) if proj and not args.torch_init else args.std
                torch.nn.init.normal_(p, 0, std)
            elif name.endswith("bias") and not args.torch_init and "ln_" not in name:
                torch.nn.init.zeros_(p)

    def forward(self, ids):
        x = self.wte(ids)
        if not args.rope:
            x = x + self.wpe(torch.arange(ids.shape[1]))
        for block in self.h:
            x = block(x)
        head = self.lm_head.weight if args.untied else self.wte.weight
        return self.ln_f(x) @ head.T


def char_rows(examples, chars):
    """Inputs and answer-only targets for (prompt, answer) pairs, padded with EOS / IGNORE."""
    eos = len(chars)
    rows = [([chars.index(c) for c in p + a] + [eos], len(p)) for p, a in examples]
    t = max(len(ids) for ids, _ in rows) - 1
    x = torch.full((len(rows), t), eos, dtype=torch.long)
    y = torch.full((len(rows), t), IGNORE, dtype=torch.long)
    for r, (ids, prompt_len) in enumerate(rows):
        n = len(ids) - 1
        x[r, :n] = torch.tensor(ids[:-1])
        y[r, prompt_len - 1:n] = torch.tensor(ids[prompt_len:])
    return x, y


SPACE_ID = -1  # the space's token id in spaced formats, whose answer columns skip it


def multiplication():
    global SPACE_ID
    chars = {"compact": "0123456789*=", "spaced": "0123456789 *#", "pause": "0123456789*= "}[args.format]
    join = "" if args.format == "compact" else " "
    SPACE_ID = chars.find(" ")

    def example(a, b):
        digits = lambda n, w: join.join(reversed(f"{n:0{w}d}"))  # least significant first
        if args.format == "compact":
            return f"{digits(a, 2)}*{digits(b, 2)}=", digits(a * b, 4)
        if args.format == "pause":  # compact prompt, answer digits spaced
            return f"{digits(a, 2).replace(' ', '')}*{digits(b, 2).replace(' ', '')}=", digits(a * b, 4)
        return f"{digits(a, 2)} * {digits(b, 2)} #### ", digits(a * b, 4)

    rng = random.Random(0)
    pairs = [(a, b) for a in range(100) for b in range(100)]
    rng.shuffle(pairs)
    val, train = pairs[:1000], pairs[1000:]
    train_batch = lambda: char_rows([example(*rng.choice(train)) for _ in range(args.batch)], chars)
    return len(chars) + 1, train_batch, char_rows([example(*p) for p in val], chars)


def histogram():
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[:args.letters]
    chars = letters + " :0123456789[],"

    def example(rng):
        s = "".join(rng.choice(letters) for _ in range(rng.randint(args.min_len, args.max_len)))
        return s + " :: ", "[" + ", ".join(str(s.count(c)) for c in s) + "]"

    rng = random.Random(1)
    train_batch = lambda: char_rows([example(rng) for _ in range(args.batch)], chars)
    val_rng = random.Random(99)
    return len(chars) + 1, train_batch, char_rows([example(val_rng) for _ in range(1024)], chars)


def rrxor():
    """Two fair random bits then their XOR, from a uniformly random phase; BOS (id 2) first."""
    gen = torch.Generator().manual_seed(1)

    def sample(count, g):
        bits = torch.randint(0, 2, (count, args.n_ctx // 3 + 2, 2), generator=g)
        triples = torch.stack([bits[..., 0], bits[..., 1], bits[..., 0] ^ bits[..., 1]], 2)
        phase = torch.randint(0, 3, (count,), generator=g)
        seq = torch.gather(triples.reshape(count, -1), 1, phase[:, None] + torch.arange(args.n_ctx))
        seq = torch.cat([torch.full((count, 1), 2), seq], 1)
        return seq[:, :-1], seq[:, 1:]

    val = sample(8192, torch.Generator().manual_seed(2))
    return 3, lambda: sample(args.batch, gen), val


vocab, train_batch, (val_x, val_y) = {"multiplication": multiplication, "histogram": histogram,
                                      "rrxor": rrxor}[args.task]()
model = GPT(vocab, 512)
matrices = [p for p in model.parameters() if p.dim() > 1 or args.decay_all]
others = [p for p in model.parameters() if p.dim() <= 1 and not args.decay_all]
opt = torch.optim.AdamW([{"params": matrices, "weight_decay": args.wd},
                         {"params": others, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.99))
loss_of = lambda logits, y: torch.nn.functional.cross_entropy(
    logits.reshape(-1, vocab), y.reshape(-1), ignore_index=IGNORE)
start = time.time()
for step in range(1, args.steps + 1):
    # kiln's schedule: linear warmup, cosine to lr/10
    cosine = 0.5 * (1 + math.cos(math.pi * step / args.steps))
    for group in opt.param_groups:
        group["lr"] = args.lr * min(1, step / args.warmup) * (0.1 + 0.9 * cosine)
    x, y = train_batch()
    loss = loss_of(model(x), y)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if step % args.every == 0 or step == args.steps:
        model.eval()
        with torch.no_grad():
            logits = model(val_x)
        model.train()
        line = f"{step} {loss.item():.4f} {loss_of(logits, val_y).item():.4f}"
        if args.task != "rrxor":
            right = (logits.argmax(-1) == val_y) | (val_y == IGNORE)
            line += f" exact {right.all(1).float().mean().item():.4f}"
            if args.task == "multiplication":  # accuracy per answer column (LSB first) and EOS
                answer = (val_y[0] != IGNORE) & (val_y[0] != SPACE_ID)
                columns = right[:, answer].float().mean(0).tolist()
                line += " columns " + " ".join(f"{c:.3f}" for c in columns)
        print(f"{line} ({time.time() - start:.0f} s)", flush=True)
