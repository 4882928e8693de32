/**
 * `deno task validate` as a user runs it: a subprocess against tiny runs this test trains itself
 * (a char model on tinyshakespeare, a mess3 process model), a Hugging Face-style copy of one, and
 * corrupted copies.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import "../../src/data/sources_all.ts";
import { resolveConfigs } from "../../src/config/load.ts";
import { Device } from "../../src/gpu/device.ts";
import { readSafetensors, writeSafetensors } from "../../src/nn/safetensors.ts";
import { readMetrics, type ValLine } from "../../src/train/metrics.ts";
import { train } from "../../src/train/trainer.ts";
import { hasWebGpuAdapter, testNeeding } from "../_support/env.ts";
import { assertOneLineError, type CommandOutput, runTool } from "../_support/cli.ts";

const gpu = await hasWebGpuAdapter();
function validate(args: string[], stdin?: string): Promise<CommandOutput> {
  return runTool("validate", args, { stdin });
}

async function trainTiny(root: string, dev: Device, raw: Record<string, unknown>): Promise<string> {
  const cfg = resolveConfigs(raw, [], "test")[0].config;
  const result = await train(cfg, { runsRoot: root, device: dev, progress: false });
  assert.equal(result.status, "finished");
  return result.dir;
}

const TRAINING = {
  batch_size: 4,
  max_steps: 20,
  learning_rate: 3e-3,
  warmup_steps: 2,
  log_every: 5,
  eval_every: 10,
  eval_batches: 2,
  checkpoint_every: 20,
  keep_checkpoints: 1,
};

/** A Hugging Face GPT-2 directory (Conv1D weights [in, out], `transformer.` names) of a run. */
async function writeHfCopy(runDir: string, dir: string): Promise<void> {
  await Deno.mkdir(dir);
  const { tensors } = await readSafetensors(join(runDir, "checkpoints/step_20/model.safetensors"));
  const hf = new Map();
  for (const [name, t] of tensors) {
    let { shape, data } = t as { shape: number[]; data: Float32Array };
    if (/(c_attn|c_proj|c_fc)\.weight$/.test(name)) {
      const [rows, cols] = shape;
      const out = new Float32Array(data.length);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
      }
      [shape, data] = [[cols, rows], out];
    }
    hf.set(`transformer.${name}`, { dtype: "F32", shape, data });
  }
  await writeSafetensors(join(dir, "model.safetensors"), hf);
  await Deno.writeTextFile(
    join(dir, "config.json"),
    JSON.stringify({
      vocab_size: 65,
      n_positions: 16,
      n_layer: 2,
      n_head: 2,
      n_embd: 32,
      activation_function: "gelu_new",
      layer_norm_epsilon: 1e-5,
    }),
  );
  await Deno.copyFile(join(runDir, "tokenizer.json"), join(dir, "tokenizer.json"));
}

/** A random GPT-2-vocabulary model (1 layer, width 8) in Hugging Face's layout, no tokenizer. */
async function writeRandomGpt2(dir: string): Promise<void> {
  await Deno.mkdir(dir);
  let seed = 12345;
  const random = (n: number, std = 0.5) =>
    Float32Array.from({ length: n }, () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return (seed / 2 ** 32 - 0.5) * 2 * std;
    });
  const shapes: Record<string, number[]> = {
    "wte.weight": [50257, 8],
    "wpe.weight": [16, 8],
    "h.0.ln_1.weight": [8],
    "h.0.ln_1.bias": [8],
    "h.0.attn.c_attn.weight": [8, 24],
    "h.0.attn.c_attn.bias": [24],
    "h.0.attn.c_proj.weight": [8, 8],
    "h.0.attn.c_proj.bias": [8],
    "h.0.ln_2.weight": [8],
    "h.0.ln_2.bias": [8],
    "h.0.mlp.c_fc.weight": [8, 32],
    "h.0.mlp.c_fc.bias": [32],
    "h.0.mlp.c_proj.weight": [32, 8],
    "h.0.mlp.c_proj.bias": [8],
    "ln_f.weight": [8],
    "ln_f.bias": [8],
  };
  const tensors = new Map(
    Object.entries(shapes).map((
      [name, shape],
    ) => [name, { dtype: "F32" as const, shape, data: random(shape.reduce((a, b) => a * b)) }]),
  );
  await writeSafetensors(join(dir, "model.safetensors"), tensors);
  await Deno.writeTextFile(
    join(dir, "config.json"),
    JSON.stringify({ vocab_size: 50257, n_positions: 16, n_layer: 1, n_head: 2, n_embd: 8 }),
  );
}

testNeeding(
  "a WebGPU adapter",
  gpu,
  "validate: eval, generate, chat, inspect, verify, HF dirs, bad input",
  async (t) => {
    const root = await Deno.makeTempDir();
    const dev = await Device.open();
    try {
      const run = await trainTiny(root, dev, {
        experiment_name: "chars",
        seed: 3,
        data: { source: "text", dataset: "../shared/data/tinyshakespeare.txt" },
        model: { vocab_size: 65, max_seq_len: 16, n_layer: 2, n_head: 2, d_model: 32, bias: true },
        training: TRAINING,
      });
      const checkpoint = join(run, "checkpoints", "step_20");

      await t.step("help and mode errors", async () => {
        const help = await validate(["--help"]);
        assert.equal(help.code, 0);
        assert.match(help.stdout, /Usage: deno task validate --checkpoint/);
        assertOneLineError(await validate(["--checkpoint", run]), /give exactly one of --eval/);
        assertOneLineError(
          await validate(["--checkpoint", run, "--eval", "--verify"]),
          /got --eval, --verify/,
        );
      });

      await t.step("--eval reproduces the logged val loss", async () => {
        const out = await validate(["--checkpoint", run, "--eval", "--json"]);
        assert.equal(out.code, 0, out.stderr);
        const result = JSON.parse(out.stdout);
        const logged = (await readMetrics(run)).filter((l): l is ValLine =>
          l.type === "val" && l.step === 20
        );
        assert.equal(result.loss, logged.at(-1)!.loss);
        assert.equal(result.step, 20);
        // The experiment directory (runs/<name>/) means its newest run.
        const byExperiment = await validate([
          "--checkpoint",
          join(root, "chars"),
          "--eval",
          "--json",
        ]);
        assert.equal(JSON.parse(byExperiment.stdout).loss, result.loss);
        const more = JSON.parse(
          (await validate(["--checkpoint", run, "--eval", "--json", "--max-batches", "3"])).stdout,
        );
        assert.equal(more.batches, 3);
        assert.notEqual(more.loss, result.loss);
      });

      let greedy = "";
      await t.step(
        "--prompt: the run, its checkpoint and an HF copy sample the same text",
        async () => {
          const sampled = [
            "--prompt",
            "ROMEO:",
            "--temperature",
            "1",
            "--seed",
            "5",
            "--max-length",
            "30",
          ];
          const fromRun = await validate(["--checkpoint", run, ...sampled]);
          assert.equal(fromRun.code, 0, fromRun.stderr);
          const text = fromRun.stdout;
          assert.equal(text.length, "ROMEO:".length + 30 + 1);
          assert.ok(text.startsWith("ROMEO:") && new Set(text.slice(6)).size > 3, text);
          assert.equal((await validate(["--checkpoint", checkpoint, ...sampled])).stdout, text);
          const hf = join(root, "hf");
          await writeHfCopy(run, hf);
          assert.equal((await validate(["--checkpoint", hf, ...sampled])).stdout, text);
          const other = await validate([
            "--checkpoint",
            run,
            ...sampled.slice(0, -4),
            "--seed",
            "6",
            "--max-length",
            "30",
          ]);
          assert.notEqual(other.stdout, text);
          const args = ["--prompt", "ROMEO:", "--temperature", "0", "--max-length", "20"];
          greedy = (await validate(["--checkpoint", run, ...args])).stdout;
          assert.equal(greedy.length, "ROMEO:".length + 20 + 1);
        },
      );

      await t.step(
        "--beams: 1 beam is the greedy text; more beams are at least as likely",
        async () => {
          const args = ["--checkpoint", run, "--prompt", "ROMEO:", "--max-length", "20"];
          const one = await validate([...args, "--beams", "1"]);
          assert.equal(one.code, 0, one.stderr);
          assert.equal(one.stdout, greedy);
          const [b1, b4] = await Promise.all(
            ["1", "4"].map(async (n) =>
              JSON.parse((await validate([...args, "--beams", n, "--json"])).stdout)
            ),
          );
          assert.ok(
            b1.log_prob < 0 && b4.log_prob >= b1.log_prob - 1e-6,
            `${b1.log_prob} ${b4.log_prob}`,
          );
          assertOneLineError(
            await validate([...args, "--beams", "0"]),
            /--beams: expected an integer ≥ 1/,
          );
          assertOneLineError(
            await validate(["--checkpoint", run, "--eval", "--beams", "2"]),
            /--beams goes with --prompt/,
          );
        },
      );

      await t.step("--chat with piped input", async () => {
        const out = await validate(
          ["--checkpoint", run, "--chat", "--max-length", "20"],
          "temp 0\nROMEO:\ntopk 5\nreset\nquit\nnever read\n",
        );
        assert.equal(out.code, 0, out.stderr);
        const lines = out.stdout.split("\n");
        assert.equal(lines[0], "(temperature 0)");
        // The first reply is the greedy continuation of the prompt, as --prompt printed it.
        assert.equal(
          "ROMEO:" + out.stdout.slice(lines[0].length + 1).split("\n(temperature 0, top-k 5)")[0] +
            "\n",
          greedy,
        );
        assert.match(out.stdout, /\(context cleared\)\n$/);
      });

      await t.step("--perplexities, --attention, --activations", async () => {
        const file = join(root, "lines.txt");
        await Deno.writeTextFile(file, "To be, or not to be\n\nthat is the question\n");
        const ppl = await validate([
          "--checkpoint",
          run,
          "--perplexities",
          file,
          "--json",
          "--per-position",
        ]);
        assert.equal(ppl.code, 0, ppl.stderr);
        const report = JSON.parse(ppl.stdout);
        assert.deepEqual(
          report.lines.map((l: { line: number; count: number }) => [l.line, l.count]),
          [[1, 18], [3, 19]],
        );
        assert.equal(report.lines[0].tokens[0].token, "o");

        const att = await validate([
          "--checkpoint",
          run,
          "--attention",
          "ROMEO",
          "--layers",
          "1",
          "--heads",
          "0,1",
          "--json",
        ]);
        assert.equal(att.code, 0, att.stderr);
        const names = [];
        for await (const e of Deno.readDir(join(run, "attention"))) names.push(e.name);
        assert.equal(names.length, 5); // 2 heads × (svg + png) + json
        assert.ok(names.some((n) => /^ROMEO_[0-9a-f]{8}_L1_H1\.png$/.test(n)), names.join(","));
        assertOneLineError(
          await validate(["--checkpoint", run, "--attention", "ROMEO", "--layers", "2"]),
          /--layers: 2 is not in 0\.\.1/,
        );

        const act = await validate(["--checkpoint", run, "--activations", "ROMEO", "--json"]);
        assert.equal(act.code, 0, act.stderr);
        const { file: saved } = JSON.parse(act.stdout);
        const back = await readSafetensors(saved);
        assert.deepEqual([...back.tensors.keys()].sort(), ["ids", "resid.0", "resid.1", "resid.2"]);
        assert.deepEqual(back.tensors.get("resid.2")!.shape, [5, 32]);
        const batch = await validate([
          "--checkpoint",
          run,
          "--activations",
          "ROMEO",
          "--activations",
          "To be",
          "--json",
        ]);
        assert.equal(batch.code, 0, batch.stderr);
        const many = await readSafetensors(JSON.parse(batch.stdout).file);
        assert.deepEqual(many.tensors.get("resid.2")!.shape, [2, 5, 32]);
        assert.deepEqual([...many.tensors.get("lengths")!.data], [5, 5]);
        const first = (many.tensors.get("resid.2")!.data as Float32Array).subarray(0, 5 * 32);
        const one = back.tensors.get("resid.2")!.data as Float32Array;
        first.forEach((v, i) => assert.ok(Math.abs(v - one[i]) < 1e-5));
      });

      await t.step("--verify", async () => {
        const out = await validate(["--checkpoint", run, "--verify"]);
        assert.equal(out.code, 0, out.stdout + out.stderr);
        assert.match(
          out.stdout,
          /^ok {4}reload: .*\nok {4}val loss: logged .*\nok {4}KV cache: .*\nok {4}seeded generation/,
        );
        // A copy whose log claims another val loss fails verification (exit 1).
        const copy = join(root, "tampered");
        await new Deno.Command("cp", { args: ["-r", run, copy] }).output();
        const metrics = join(copy, "metrics.jsonl");
        const lines = (await Deno.readTextFile(metrics)).trimEnd().split("\n").map((l) => {
          const m = JSON.parse(l);
          if (m.type === "val" && m.step === 20) m.loss += 0.01;
          return JSON.stringify(m);
        });
        await Deno.writeTextFile(metrics, lines.join("\n") + "\n");
        const bad = await validate(["--checkpoint", copy, "--verify"]);
        assert.equal(bad.code, 1, bad.stdout + bad.stderr);
        assert.match(bad.stdout, /\nFAIL {2}val loss: logged /);
        assert.match(bad.stderr, /^error: verification failed/);
      });

      await t.step("bad input: one line, exit 2", async () => {
        assertOneLineError(
          await validate(["--checkpoint", join(root, "nope"), "--eval"]),
          /checkpoint not found/,
        );
        assertOneLineError(
          await validate(["--checkpoint", await Deno.makeTempDir({ dir: root }), "--eval"]),
          /not a run, checkpoint or Hugging Face/,
        );
        assertOneLineError(
          await validate(["--checkpoint", run, "--prompt", "x", "--top-k", "5", "--top-p", "0.9"]),
          /top-k and top-p are mutually exclusive/,
        );
        assertOneLineError(
          await validate(["--checkpoint", run, "--prompt", "Ünïcode"]),
          /character "Ü" is not in the character vocabulary/,
        );
        assertOneLineError(
          await validate(["--checkpoint", run, "--prompt", "x", "--max-length", "zero"]),
          /--max-length: expected an integer/,
        );

        const long = await validate([
          "--checkpoint",
          run,
          "--prompt",
          "a".repeat(40),
          "--max-length",
          "2",
          "--temperature",
          "0",
        ]);
        assert.equal(long.code, 0, long.stderr);
        assert.match(
          long.stderr,
          /^warning: the prompt has 40 tokens, more than the context of 16: dropped its first 24\n$/,
        );

        // Corrupt copies of the checkpoint: truncated weights, a header that lies about sizes.
        const weights = join(checkpoint, "model.safetensors");
        const bytes = await Deno.readFile(weights);
        const truncated = join(root, "truncated");
        await Deno.mkdir(truncated);
        for (const f of ["state.json", "optimizer.safetensors"]) {
          await Deno.copyFile(join(checkpoint, f), join(truncated, f));
        }
        await Deno.writeFile(
          join(truncated, "model.safetensors"),
          bytes.subarray(0, bytes.length >> 1),
        );
        assertOneLineError(
          await validate(["--checkpoint", truncated, "--eval"]),
          /model\.safetensors/,
        );

        const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
        const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
        const first = Object.keys(header).find((k) => k !== "__metadata__")!;
        header[first].data_offsets[1] += 4;
        const lie = new TextEncoder().encode(JSON.stringify(header));
        const lying = new Uint8Array(8 + lie.length + bytes.length - 8 - headerLength);
        new DataView(lying.buffer).setBigUint64(0, BigInt(lie.length), true);
        lying.set(lie, 8);
        lying.set(bytes.subarray(8 + headerLength), 8 + lie.length);
        await Deno.writeFile(join(truncated, "model.safetensors"), lying);
        assertOneLineError(
          await validate(["--checkpoint", truncated, "--eval"]),
          /model\.safetensors/,
        );
      });

      await t.step("an HF GPT-2-vocabulary model without tokenizer.json uses GPT-2's", async () => {
        const hf = join(root, "hf_gpt2");
        await writeRandomGpt2(hf);
        const gen = await validate([
          "--checkpoint",
          hf,
          "--prompt",
          "Hello world",
          "--temperature",
          "0",
          "--max-length",
          "3",
          "--json",
        ]);
        assert.equal(gen.code, 0, gen.stderr);
        const out = JSON.parse(gen.stdout);
        assert.equal(out.ids.length, 3);
        assert.ok(out.ids.every((id: number) => id >= 0 && id < 50257));
        const file = join(root, "hello.txt");
        await Deno.writeTextFile(file, "Hello world\n");
        const ppl = JSON.parse(
          (await validate(["--checkpoint", hf, "--perplexities", file, "--json"])).stdout,
        );
        assert.equal(ppl.lines[0].count, 2); // after <|endoftext|>: "Hello", " world"
        assertOneLineError(
          await validate(["--checkpoint", hf, "--eval"]),
          /--eval needs the run's data/,
        );
      });

      await t.step("a process run: optimal loss and progress, integer prompts", async () => {
        const proc = await trainTiny(root, dev, {
          experiment_name: "mess3",
          seed: 1,
          data: { source: "process", process: "mess3", params: { x: 0.05, a: 0.85 }, bos: true },
          model: { vocab_size: 4, max_seq_len: 6, n_layer: 1, n_head: 2, d_model: 16, bias: true },
          training: {
            ...TRAINING,
            batch_size: 8,
            max_steps: 10,
            eval_every: 5,
            checkpoint_every: 10,
          },
        });
        const out = await validate(["--checkpoint", proc, "--eval", "--json"]);
        assert.equal(out.code, 0, out.stderr);
        const e = JSON.parse(out.stdout);
        assert.ok(Math.abs(e.optimal_loss - 0.85939) < 1e-5, String(e.optimal_loss));
        const initial = (await readMetrics(proc)).find((l): l is ValLine => l.type === "val")!.loss;
        assert.ok(
          Math.abs(e.progress_to_optimal - (e.loss - e.optimal_loss) / (initial - e.optimal_loss)) <
            1e-12,
        );
        const gen = await validate([
          "--checkpoint",
          proc,
          "--prompt",
          "BOS 0 1",
          "--max-length",
          "4",
          "--seed",
          "2",
        ]);
        assert.equal(gen.code, 0, gen.stderr);
        assert.match(gen.stdout, /^BOS 0 1( [0-2]){1,4}\n$/);
        assertOneLineError(
          await validate(["--checkpoint", proc, "--prompt", "0 7"]),
          /token id 7 is outside/,
        );
      });
    } finally {
      dev.destroy();
      await Deno.remove(root, { recursive: true });
    }
  },
);
