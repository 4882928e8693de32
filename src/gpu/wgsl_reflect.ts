/**
 * Just enough WGSL reflection to check a pipeline against the device before creating it: for
 * one entry point with its override constants, the workgroup size, the bytes of workgroup memory
 * it uses and the access mode of each storage binding. wgpu does not enforce
 * `maxComputeWorkgroupStorageSize`, so kiln counts the bytes itself; copying a misaligned view
 * into an aligned scratch binding needs to know whether the kernel writes it.
 *
 * Only module-scope variables that the entry point reaches (directly or through the functions it
 * calls) count, as in the WebGPU spec.
 *
 * @module
 */

/** What one entry point needs from the device. */
export interface EntryPointInfo {
  workgroupSize: [number, number, number];
  /** Sum of the sizes of the `var<workgroup>` the entry point uses, in bytes. */
  workgroupBytes: number;
  /** Storage bindings of group 0 that the entry point uses: binding number → writable. */
  storageWritable: Map<number, boolean>;
}

interface ModuleInfo {
  values: Map<string, string>;
  workgroupVars: Map<string, string>;
  storageVars: Map<string, { binding: number; writable: boolean }>;
  structs: Map<string, string[]>;
  functions: Map<string, string>;
  workgroupSizes: Map<string, string[]>;
}

const moduleCache = new Map<string, ModuleInfo>();

/**
 * Reflects `entryPoint` of the WGSL `code` with the pipeline's override `constants`.
 *
 * @example
 * ```ts
 * const info = reflectEntryPoint(loadShader("softmax"), "softmax_forward", {});
 * info.workgroupBytes; // 0
 * ```
 */
export function reflectEntryPoint(
  code: string,
  entryPoint: string,
  constants: Readonly<Record<string, number>> = {},
): EntryPointInfo {
  let mod = moduleCache.get(code);
  if (mod === undefined) {
    mod = parseModule(code);
    moduleCache.set(code, mod);
  }
  const sizeExprs = mod.workgroupSizes.get(entryPoint);
  if (!sizeExprs) throw new Error(`WGSL has no @compute entry point "${entryPoint}"`);
  const evaluate = (expr: string) => evaluateExpression(expr, mod!.values, constants);
  const size = [1, 1, 1] as [number, number, number];
  sizeExprs.forEach((e, i) => size[i] = evaluate(e));
  const used = reachableNames(mod, entryPoint);
  let workgroupBytes = 0;
  const storageWritable = new Map<number, boolean>();
  for (const name of used) {
    const type = mod.workgroupVars.get(name);
    if (type !== undefined) workgroupBytes += typeLayout(type, mod, evaluate).size;
    const storage = mod.storageVars.get(name);
    if (storage) storageWritable.set(storage.binding, storage.writable);
  }
  return { workgroupSize: size, workgroupBytes, storageWritable };
}

function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/\/\/[^\n]*/g, " ");
}

function parseModule(source: string): ModuleInfo {
  const code = stripComments(source);
  const values = new Map<string, string>();
  for (
    const m of code.matchAll(/\b(?:const|override)\s+(\w+)\s*(?::\s*\w+\s*)?(?:=\s*([^;]+))?;/g)
  ) {
    if (m[2] !== undefined) values.set(m[1], m[2]);
  }
  const workgroupVars = new Map<string, string>();
  for (const m of code.matchAll(/var\s*<\s*workgroup\s*>\s*(\w+)\s*:\s*([^;]+);/g)) {
    workgroupVars.set(m[1], m[2].trim());
  }
  const storageVars = new Map<string, { binding: number; writable: boolean }>();
  const bindingRe = /@binding\s*\(\s*(\d+)\s*\)\s*var\s*<\s*storage\s*(?:,\s*(\w+)\s*)?>\s*(\w+)/g;
  for (const m of code.matchAll(bindingRe)) {
    storageVars.set(m[3], { binding: Number(m[1]), writable: m[2] === "read_write" });
  }
  const structs = new Map<string, string[]>();
  for (const m of code.matchAll(/\bstruct\s+(\w+)\s*\{([^}]*)\}/g)) {
    const fields = m[2].split(",").map((f) => f.replace(/@\w+(\([^)]*\))?/g, "").trim())
      .filter(Boolean).map((f) => f.slice(f.indexOf(":") + 1).trim());
    structs.set(m[1], fields);
  }
  const functions = new Map<string, string>();
  const workgroupSizes = new Map<string, string[]>();
  const fnRe = /((?:@[\w]+(?:\s*\([^)]*\))?\s*)*)\bfn\s+(\w+)\s*\(/g;
  for (const m of code.matchAll(fnRe)) {
    const open = code.indexOf("{", m.index! + m[0].length);
    functions.set(m[2], code.slice(open, matchingBrace(code, open) + 1));
    const attrs = m[1];
    const ws = /@workgroup_size\s*\(([^)]*)\)/.exec(attrs);
    if (/@compute/.test(attrs) && ws) {
      workgroupSizes.set(m[2], ws[1].split(",").map((s) => s.trim()).filter(Boolean));
    }
  }
  return { values, workgroupVars, storageVars, structs, functions, workgroupSizes };
}

function matchingBrace(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === "{") depth++;
    else if (code[i] === "}" && --depth === 0) return i;
  }
  throw new Error("WGSL: unbalanced braces");
}

/** Identifiers reachable from the entry point's body through the functions it calls. */
function reachableNames(mod: ModuleInfo, entryPoint: string): Set<string> {
  const seen = new Set<string>([entryPoint]);
  const work = [entryPoint];
  while (work.length > 0) {
    const body = mod.functions.get(work.pop()!) ?? "";
    for (const [id] of body.matchAll(/\b[A-Za-z_]\w*\b/g)) {
      if (seen.has(id)) continue;
      seen.add(id);
      if (mod.functions.has(id)) work.push(id);
    }
  }
  return seen;
}

interface Layout {
  size: number;
  align: number;
}

const SCALARS: Record<string, number> = { f32: 4, u32: 4, i32: 4, f16: 2, bool: 4 };

function typeLayout(type: string, mod: ModuleInfo, evaluate: (e: string) => number): Layout {
  const t = type.replace(/\s+/g, "");
  if (SCALARS[t] !== undefined) return { size: SCALARS[t], align: SCALARS[t] };
  const atomic = /^atomic<(\w+)>$/.exec(t);
  if (atomic) return { size: 4, align: 4 };
  const vec = /^vec([234])(?:<(\w+)>|([fuih]))$/.exec(t);
  if (vec) {
    const n = Number(vec[1]);
    const scalar = vec[2] ?? { f: "f32", u: "u32", i: "i32", h: "f16" }[vec[3]]!;
    const s = SCALARS[scalar];
    const align = (n === 2 ? 2 : 4) * s;
    return { size: n * s, align };
  }
  const arr = /^array<(.+),([^,<>]+|[^,]*\([^)]*\)[^,]*)>$/.exec(t);
  if (arr) {
    const elem = typeLayout(arr[1], mod, evaluate);
    const stride = Math.ceil(elem.size / elem.align) * elem.align;
    return { size: stride * evaluate(arr[2]), align: elem.align };
  }
  const fields = mod.structs.get(t);
  if (fields) {
    let size = 0;
    let align = 1;
    for (const f of fields) {
      const l = typeLayout(f, mod, evaluate);
      size = Math.ceil(size / l.align) * l.align + l.size;
      align = Math.max(align, l.align);
    }
    return { size: Math.ceil(size / align) * align, align };
  }
  throw new Error(`WGSL reflection: unsupported workgroup type ${type}`);
}

/**
 * Evaluates an integer WGSL constant expression: literals (with u/i suffixes, hex), module
 * `const`/`override` names (pipeline constants win), + − * / %, parentheses, min and max.
 */
export function evaluateExpression(
  expr: string,
  values: ReadonlyMap<string, string>,
  constants: Readonly<Record<string, number>>,
  depth = 0,
): number {
  if (depth > 32) throw new Error(`WGSL reflection: constant ${expr} refers to itself`);
  const tokens = expr.match(/0x[0-9a-fA-F]+[ui]?|\d+(?:\.\d+)?[uif]?|\w+|[-+*/%(),]/g) ?? [];
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => tokens[pos++];
  const primary = (): number => {
    const t = next();
    if (t === undefined) throw new Error(`WGSL reflection: cannot evaluate "${expr}"`);
    if (t === "(") {
      const v = sum();
      next();
      return v;
    }
    if (t === "-") return -primary();
    if (/^0x/.test(t)) return parseInt(t.replace(/[ui]$/, ""), 16);
    if (/^\d/.test(t)) return Number(t.replace(/[uif]$/, ""));
    if ((t === "min" || t === "max" || t === "u32" || t === "i32") && peek() === "(") {
      next();
      const args = [sum()];
      while (peek() === ",") {
        next();
        args.push(sum());
      }
      next();
      return t === "min" ? Math.min(...args) : t === "max" ? Math.max(...args) : args[0];
    }
    if (Object.hasOwn(constants, t)) return constants[t];
    const def = values.get(t);
    if (def === undefined) throw new Error(`WGSL reflection: unknown constant ${t} in "${expr}"`);
    return evaluateExpression(def, values, constants, depth + 1);
  };
  const product = (): number => {
    let v = primary();
    while (peek() === "*" || peek() === "/" || peek() === "%") {
      const op = next();
      const r = primary();
      v = op === "*" ? v * r : op === "/" ? Math.trunc(v / r) : v % r;
    }
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (peek() === "+" || peek() === "-") v = next() === "+" ? v + product() : v - product();
    return v;
  };
  return sum();
}
