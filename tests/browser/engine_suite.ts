/**
 * The engine's op-vs-oracle suite and the training determinism tests, bundled for a browser page
 * (tests/browser/engine_chromium_test.ts runs it in Chromium). The imported files are the very
 * ones `deno test` runs; their `Deno.test` calls register into the page's runner.
 */

import "../tensor/attention_test.ts";
import "../tensor/cast_test.ts";
import "../tensor/classifier_test.ts";
import "../tensor/dropout_test.ts";
import "../tensor/elementwise_test.ts";
import "../tensor/embedding_test.ts";
import "../tensor/layernorm_test.ts";
import "../tensor/layout_test.ts";
import "../tensor/matmul_test.ts";
import "../tensor/memory_test.ts";
import "../tensor/parameters_test.ts";
import "../tensor/pointwise_test.ts";
import "../tensor/reduce_axis_test.ts";
import "../tensor/scope_test.ts";
import "../tensor/slicing_test.ts";
import "../tensor/softmax_test.ts";
import "../tensor/view_test.ts";
import "../optim/adamw_test.ts";
import "../nn/gpt_test.ts";
import { runRegisteredTests } from "../_support/browser_runner.ts";

const only = new URL(location.href).searchParams.get("only") ?? undefined;
(globalThis as unknown as { __kilnResults: unknown }).__kilnResults = await runRegisteredTests(
  only,
);
