/** A few of the new ops against PyTorch itself (float32, CPU), gradients and tie rules included. */

import { hasPyTorch, hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { pythonJson } from "../_support/python.ts";
import { ops } from "../../src/tensor/ops.ts";
import { Tensor } from "../../src/tensor/tensor.ts";
import { assertClose, randomArray, testDevice } from "./_helpers.ts";

const SCRIPT = `
import json, sys, torch
d = json.load(sys.stdin)
shape = d["shape"]
out = {}
def run(name, f, *inputs):
    ts = [torch.tensor(v, dtype=torch.float32).reshape(s).requires_grad_(True) for v, s in inputs]
    g = torch.tensor(d["g"], dtype=torch.float32)
    y = f(*ts)
    (y.reshape(-1) * g[: y.numel()]).sum().backward()
    out[name] = {"y": y.reshape(-1).tolist(), "grads": [t.grad.reshape(-1).tolist() for t in ts]}
x = (d["x"], shape)
b = (d["b"], shape[-1:])
run("silu", torch.nn.functional.silu, x)
run("sigmoid", torch.sigmoid, x)
run("tanh", torch.tanh, x)
run("clamp", lambda t: torch.clamp(t, -0.5, 0.5), x)
run("pow3", lambda t: t.pow(3), x)
run("maximum", torch.maximum, x, b)
run("minimum", torch.minimum, x, b)
run("where", lambda t, u: torch.where(t > 0, t, u), x, b)
run("max1", lambda t: t.max(1).values, x)
run("min0", lambda t: t.min(0).values, x)
run("mean1k", lambda t: t.mean(1, keepdim=True), x)
print(json.dumps(out))
`;

const available = (await hasPyTorch()) && (await hasWebGpuAdapter());

testNeeding("PyTorch and a WebGPU adapter", available, "new ops match PyTorch 1.13", async () => {
  const dev = await testDevice();
  const shape = [6, 33];
  // Quarter steps so that ties (maximum, max along an axis, clamp bounds) occur.
  const x = Array.from(randomArray(6 * 33, 101, -1.5, 1.5), (v) => Math.round(v * 4) / 4);
  const b = Array.from(randomArray(33, 102, -1, 1), (v) => Math.round(v * 4) / 4);
  const g = Array.from(randomArray(6 * 33, 103));
  type Result = { y: number[]; grads: number[][] };
  const torch = await pythonJson<Record<string, Result>>(SCRIPT, { x, b, g, shape });
  const cases: Record<string, [(...t: Tensor[]) => Tensor, number]> = {
    silu: [ops.silu, 1],
    sigmoid: [ops.sigmoid, 1],
    tanh: [ops.tanh, 1],
    clamp: [(t) => ops.clamp(t, -0.5, 0.5), 1],
    pow3: [(t) => ops.pow(t, 3), 1],
    maximum: [ops.maximum, 2],
    minimum: [ops.minimum, 2],
    where: [(t, u) => ops.where(ops.gt(t, 0), t, u), 2],
    max1: [(t) => ops.max(t, 1), 1],
    min0: [(t) => ops.min(t, 0), 1],
    mean1k: [(t) => ops.mean(t, 1, { keepdim: true }), 1],
  };
  for (const [name, [f, arity]] of Object.entries(cases)) {
    const inputs = [
      Tensor.fromArray(dev, x, shape, { requiresGrad: true }),
      Tensor.fromArray(dev, b, [33], { requiresGrad: true }),
    ].slice(0, arity);
    const y = f(...inputs).retain();
    const gt = Tensor.fromArray(dev, g.slice(0, y.size), y.shape);
    ops.sum(ops.mul(y, gt)).backward();
    assertClose(await y.toArray(), torch[name].y, { what: name });
    for (let i = 0; i < arity; i++) {
      assertClose(await inputs[i].grad!.toArray(), torch[name].grads[i], { what: `d${name}/${i}` });
    }
  }
});
