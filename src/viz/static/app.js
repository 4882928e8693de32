// kiln's run visualizer page. Plain ES module, no build step; uPlot is loaded as a global by
// index.html. Data comes from the server's /api (downsampled series) and /api/stream (SSE).
/* global uPlot */
import { chartableFields } from "./series_select.js";

// Points per series; min/max buckets keep spikes, so ~2 points per pixel suffice. `#points=N`
// overrides it (the benchmark compares against full resolution that way).
let POINTS = 1000;
const TRAIN_FIELDS = ["loss", "loss_smoothed", "lr", "tokens_per_s", "grad_norm"];
const PALETTE = [
  "#2563eb",
  "#dc2626",
  "#16a34a",
  "#9333ea",
  "#ea580c",
  "#0891b2",
  "#ca8a04",
  "#db2777",
  "#4f46e5",
  "#65a30d",
  "#0d9488",
  "#b91c1c",
  "#7c3aed",
  "#c2410c",
  "#0369a1",
  "#a16207",
  "#be185d",
  "#15803d",
  "#6d28d9",
  "#57534e",
];
const X_LABELS = { step: "step", tokens: "tokens", elapsed_s: "wall time (s)", flops: "FLOPs" };
const VAL_KNOWN = new Set(["loss", "ppl", "optimal_loss", "progress_to_optimal"]);

const state = {
  runs: [],
  byId: new Map(),
  selected: new Set(),
  x: "step",
  logY: false,
  smooth: 0.6,
  filter: "",
  status: "all",
  sweep: "",
  diffOnly: false,
  data: new Map(), // run id → series response (mutated by live appends)
  charts: [],
  stream: null,
  openRun: null,
  syncingScale: false,
};

const $ = (id) => document.getElementById(id);

// ---------- formatting ----------

function fmt(v, digits = 4) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-2)) return v.toExponential(2);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return v.toPrecision(digits);
}

function fmtCount(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  for (const [size, s] of [[1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]]) {
    if (Math.abs(v) >= size) return (v / size).toFixed(2) + s;
  }
  return String(Math.round(v));
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "style") node.style.cssText = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) {
      node.setAttribute(k, v === true ? "" : v);
    }
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

function colorOf(id) {
  const i = state.runs.findIndex((r) => r.id === id);
  return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
}

function runLabel(run) {
  return run ? run.path : "?";
}

// ---------- URL hash (so a view can be bookmarked) ----------

function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  if (p.has("x") && X_LABELS[p.get("x")]) state.x = p.get("x");
  if (p.has("log")) state.logY = p.get("log") === "1";
  if (p.has("smooth")) state.smooth = Math.min(0.99, Math.max(0, Number(p.get("smooth")) || 0));
  if (p.has("run")) state.openRun = p.get("run");
  if (Number(p.get("points")) >= 2) POINTS = Math.min(1_000_000, Number(p.get("points")));
  return p.has("runs") ? p.get("runs").split(",").filter(Boolean) : null;
}

function writeHash() {
  const p = new URLSearchParams();
  p.set("runs", [...state.selected].join(","));
  p.set("x", state.x);
  if (state.logY) p.set("log", "1");
  p.set("smooth", String(state.smooth));
  if (state.openRun) p.set("run", state.openRun);
  history.replaceState(null, "", "#" + p.toString());
}

// ---------- data ----------

async function getJson(path) {
  const res = await fetch(path);
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

function setRuns(runs) {
  state.runs = runs;
  state.byId = new Map(runs.map((r) => [r.id, r]));
  for (const id of [...state.selected]) if (!state.byId.has(id)) state.selected.delete(id);
}

function seriesUrl(id, fields) {
  const q = new URLSearchParams({ x: state.x, points: String(POINTS) });
  if (state.smooth > 0) q.set("smooth", String(state.smooth));
  if (fields) q.set("fields", fields.join(","));
  return `/api/runs/${encodeURIComponent(id)}/series?${q}`;
}

/** Fetches the series of every selected run that is not loaded yet (or all, when `force`). */
async function loadSelected(force = false) {
  const ids = [...state.selected].filter((id) => force || !state.data.has(id));
  const results = await Promise.all(
    ids.map((id) => getJson(seriesUrl(id)).catch(() => null)),
  );
  ids.forEach((id, i) => {
    if (results[i]) state.data.set(id, { ...results[i], appended: 0 });
  });
}

/** Refetches only the smoothed loss (the slider moved). */
async function reloadSmoothing() {
  const ids = [...state.selected].filter((id) => state.data.has(id));
  const results = await Promise.all(
    ids.map((id) => getJson(seriesUrl(id, ["loss_smoothed"])).catch(() => null)),
  );
  ids.forEach((id, i) => {
    const d = state.data.get(id);
    if (!results[i] || !d) return;
    if (state.smooth > 0) d.train.loss_smoothed = results[i].train.loss_smoothed;
    else delete d.train.loss_smoothed;
  });
}

// ---------- live updates (SSE) ----------

function openStream() {
  state.stream?.close();
  const ids = [...state.selected].filter((id) => state.data.has(id));
  const q = new URLSearchParams({
    runs: ids.join(","),
    cursors: ids.map((id) => state.data.get(id).cursor).join(","),
  });
  const es = new EventSource(`/api/stream?${q}`);
  state.stream = es;
  es.onopen = () => setLive(true);
  es.onerror = () => setLive(false);
  es.addEventListener("metrics", (e) => onMetrics(JSON.parse(e.data)));
  es.addEventListener("runs", (e) => {
    setRuns(JSON.parse(e.data).runs);
    renderRunList();
    renderTables();
  });
}

function setLive(on) {
  $("live").className = "live " + (on ? "on" : "off");
  $("live").textContent = on ? "live" : "offline";
}

let redrawTimer = null;
function onMetrics(msg) {
  const d = state.data.get(msg.id);
  if (!d) return;
  if (msg.reset) { // the file was rewritten (a resume): fetch it whole again
    state.data.delete(msg.id);
    loadSelected().then(() => {
      renderCharts();
      openStream();
    });
    return;
  }
  d.cursor = msg.cursor;
  for (const r of msg.records) {
    if (r.type === "event") {
      d.events.push({ ...r, x: r[state.x] ?? null });
      continue;
    }
    const table = d[r.type];
    const x = r[state.x];
    if (!table || typeof x !== "number") continue;
    for (const [k, v] of Object.entries(r)) {
      if (typeof v !== "number" || X_LABELS[k]) continue;
      (table[k] ??= { x: [], y: [] }).x.push(x);
      table[k].y.push(v);
    }
    if (r.type === "train" && typeof r.loss === "number" && d.train.loss_smoothed) {
      const s = d.train.loss_smoothed;
      const prev = s.y.length ? s.y[s.y.length - 1] : r.loss;
      s.x.push(x);
      s.y.push(state.smooth * prev + (1 - state.smooth) * r.loss);
    }
    d.appended++;
  }
  clearTimeout(redrawTimer);
  redrawTimer = setTimeout(() => {
    if (d.appended > POINTS / 2) { // keep the client's copy downsampled
      loadSelected(true).then(() => {
        renderCharts();
        openStream();
      });
    } else updateChartData();
  }, 250);
}

// ---------- charts ----------

/** Chart definitions: each yields, for one run's data, the lines it draws. */
function chartDefs() {
  const defs = [
    {
      key: "train_loss",
      title: "Train loss",
      note: state.smooth > 0 ? `raw + EMA ${state.smooth.toFixed(2)}` : "raw",
      lines: (d) => {
        const out = [{ s: d.train.loss, alpha: state.smooth > 0 ? 0.25 : 1, label: "loss" }];
        if (state.smooth > 0 && d.train.loss_smoothed) {
          out.push({ s: d.train.loss_smoothed, label: "smoothed", width: 2 });
        }
        return out;
      },
    },
    {
      key: "val_loss",
      title: "Val loss and perplexity",
      note: "solid: loss (left) · dashed: ppl (right)",
      ppl: true,
      lines: (d) => [
        { s: d.val.loss, label: "val loss", width: 2 },
        { s: d.val.ppl, label: "ppl", dash: [5, 4], scale: "ppl" },
      ],
      refs: (d) =>
        finiteLast(d.val.optimal_loss) !== null
          ? [{ y: finiteLast(d.val.optimal_loss), label: "L*" }]
          : [],
    },
    { key: "lr", title: "Learning rate", lines: (d) => [{ s: d.train.lr, label: "lr" }] },
    {
      key: "tokens_per_s",
      title: "Tokens/s",
      lines: (d) => [{ s: d.train.tokens_per_s, label: "tokens/s" }],
    },
    {
      key: "grad_norm",
      title: "Grad norm",
      lines: (d) => [{ s: d.train.grad_norm, label: "grad norm" }],
    },
  ];
  const loaded = [...state.selected].map((id) => state.data.get(id)).filter(Boolean);
  const has = (f) => loaded.some((d) => d.val[f]?.y.length);
  if (has("progress_to_optimal")) {
    defs.push({
      key: "progress_to_optimal",
      title: "Progress to optimal",
      note: "(val loss − L*) / (initial − L*); 0 = L*",
      noLog: true,
      lines: (d) => [{ s: d.val.progress_to_optimal, label: "progress", width: 2 }],
      refs: () => [{ y: 0, label: "L*" }],
    });
  }
  const extra = new Set();
  const trainExtra = new Set();
  const diag = new Set();
  for (const d of loaded) {
    for (const f of chartableFields(d.val, VAL_KNOWN)) extra.add(f);
    for (const f of chartableFields(d.train, new Set(TRAIN_FIELDS))) trainExtra.add(f);
    for (const f of chartableFields(d.diag)) diag.add(f);
  }
  for (const f of [...trainExtra].sort()) {
    defs.push({
      key: `train_${f}`,
      title: f.replaceAll("_", " "),
      note: "train",
      lines: (d) => [{ s: d.train[f], label: f }],
    });
  }
  for (const f of [...diag].sort()) {
    defs.push({
      key: `diag_${f}`,
      title: f.replaceAll("_", " "),
      note: "diag",
      lines: (d) => [{ s: d.diag?.[f], label: f }],
    });
  }
  for (const f of [...extra].sort()) {
    defs.push({
      key: `val_${f}`,
      title: f.replaceAll("_", " "),
      note: "val",
      lines: (d) => [{ s: d.val[f], label: f, width: 2 }],
    });
  }
  return defs;
}

function finiteLast(s) {
  if (!s) return null;
  for (let i = s.y.length - 1; i >= 0; i--) if (Number.isFinite(s.y[i])) return s.y[i];
  return null;
}

function withAlpha(hex, alpha) {
  if (alpha >= 1) return hex;
  const a = Math.round(alpha * 255).toString(16).padStart(2, "0");
  return hex + a;
}

/** uPlot (mode 2: every line has its own x array) data and series for one chart. */
function chartSeries(def) {
  const series = [{}];
  const data = [null];
  const lines = [];
  const refs = [];
  for (const id of state.selected) {
    const d = state.data.get(id);
    if (!d) continue;
    const color = colorOf(id);
    for (const line of def.lines(d)) {
      if (!line.s || line.s.x.length === 0) continue;
      const ys = state.logY && !def.noLog ? line.s.y.map((v) => (v > 0 ? v : null)) : line.s.y;
      data.push([line.s.x, ys]);
      lines.push({ id, label: line.label });
      series.push({
        label: `${runLabel(state.byId.get(id))} ${line.label}`,
        stroke: withAlpha(color, line.alpha ?? 1),
        width: line.width ?? 1.25,
        dash: line.dash,
        paths: uPlot.paths.linear(),
        points: { show: false },
        facets: [{ scale: "x", auto: true }, { scale: line.scale ?? "y", auto: true }],
      });
    }
    for (const r of def.refs?.(d) ?? []) {
      if (!refs.some((o) => o.y === r.y)) refs.push({ ...r, color });
    }
  }
  return { series, data, lines, refs };
}

function makeChart(def, container, width) {
  const { series, data, lines, refs } = chartSeries(def);
  const logY = state.logY && !def.noLog;
  const axes = [
    { scale: "x", label: X_LABELS[state.x], values: (_u, ticks) => ticks.map(fmtCount) },
    { scale: "y", values: (_u, ticks) => ticks.map((t) => fmt(t, 3)), size: 60 },
  ];
  const scales = {
    x: { time: false, auto: true },
    y: { auto: true, distr: logY ? 3 : 1 },
  };
  if (def.ppl) {
    axes.push({
      scale: "ppl",
      side: 1,
      grid: { show: false },
      values: (_u, t) => t.map((v) => fmt(v, 3)),
      size: 60,
    });
    scales.ppl = { auto: true, distr: logY ? 3 : 1 };
  }
  const opts = {
    mode: 2,
    width,
    height: 240,
    legend: { show: false },
    cursor: {
      sync: { key: "kiln", setSeries: false },
      points: { show: false },
      drag: { x: true, y: false, setScale: true },
    },
    scales,
    axes,
    series,
    hooks: {
      setCursor: [(u) => showTooltip(u, lines)],
      setScale: [(u, key) => key === "x" && syncScales(u)],
      draw: [(u) => drawRefs(u, refs)],
    },
  };
  const chart = new uPlot(opts, data, container);
  chart.kiln = { def, lines };
  container.dataset.series = String(series.length - 1);
  container.dataset.points = String(data.slice(1).reduce((n, s) => n + s[0].length, 0));
  return chart;
}

/** Horizontal reference lines (L*), drawn on the canvas after the series. */
function drawRefs(u, refs) {
  if (!refs.length) return;
  const ctx = u.ctx;
  ctx.save();
  ctx.setLineDash([6, 4]);
  ctx.lineWidth = 1.5 * devicePixelRatio;
  ctx.font = `${11 * devicePixelRatio}px system-ui`;
  for (const r of refs) {
    const yScale = u.scales.y;
    if (!(r.y >= yScale.min && r.y <= yScale.max) || (yScale.distr === 3 && r.y <= 0)) continue;
    const y = u.valToPos(r.y, "y", true);
    ctx.strokeStyle = "#111";
    ctx.beginPath();
    ctx.moveTo(u.bbox.left, y);
    ctx.lineTo(u.bbox.left + u.bbox.width, y);
    ctx.stroke();
    ctx.fillStyle = "#111";
    ctx.fillText(
      `${r.label} = ${fmt(r.y)}`,
      u.bbox.left + 6 * devicePixelRatio,
      y - 4 * devicePixelRatio,
    );
  }
  ctx.restore();
}

/** Zooming one chart's x axis zooms them all. */
function syncScales(src) {
  if (state.syncingScale) return;
  state.syncingScale = true;
  const { min, max } = src.scales.x;
  for (const c of state.charts) if (c !== src) c.setScale("x", { min, max });
  state.syncingScale = false;
}

/** Nearest point of a line to x (lines are sorted by x except after a rewind; good enough). */
function nearest(xs, ys, x) {
  let lo = 0, hi = xs.length - 1;
  if (hi < 0) return null;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid;
    else hi = mid;
  }
  const i = Math.abs(xs[lo] - x) <= Math.abs(xs[hi] - x) ? lo : hi;
  return { x: xs[i], y: ys[i] };
}

function showTooltip(u, lines) {
  const tip = $("tooltip");
  const left = u.cursor.left;
  if (left === undefined || left < 0 || !lines.length) {
    tip.hidden = true;
    return;
  }
  const x = u.posToVal(left, "x");
  const rows = [];
  lines.forEach((line, i) => {
    const [xs, ys] = u.data[i + 1];
    const p = nearest(xs, ys, x);
    if (!p) return;
    rows.push(
      el(
        "div",
        { class: "row" },
        el("span", { class: "swatch", style: `background:${colorOf(line.id)}` }),
        `${runLabel(state.byId.get(line.id))} · ${line.label}`,
        el("span", { class: "v" }, fmt(p.y)),
      ),
    );
  });
  tip.replaceChildren(el("div", {}, `${X_LABELS[state.x]} ${fmt(x, 6)}`), ...rows);
  // Only the chart under the mouse shows the box; synced charts just move their cursor line.
  const rect = u.over.getBoundingClientRect();
  const hovered = u.over.matches(":hover");
  tip.hidden = !hovered;
  if (hovered) {
    const tx = rect.left + left + 16;
    tip.style.left = `${Math.min(tx, innerWidth - 440)}px`;
    tip.style.top = `${rect.top + (u.cursor.top ?? 0) + 16}px`;
  }
}

function chartWidth() {
  const grid = $("charts");
  const cols = Math.max(1, Math.floor((grid.clientWidth + 12) / (480 + 12)));
  return Math.floor((grid.clientWidth - (cols - 1) * 12) / cols) - 14;
}

function renderCharts() {
  for (const c of state.charts) c.destroy();
  state.charts = [];
  const grid = $("charts");
  grid.replaceChildren();
  renderLegend();
  if (state.selected.size === 0) {
    grid.append(el("div", { class: "empty" }, "Select runs on the left to plot them."));
    return;
  }
  const width = chartWidth();
  for (const def of chartDefs()) {
    const plot = el("div", { class: "plot" });
    const box = el(
      "div",
      { class: "chart", "data-chart": def.key },
      el(
        "div",
        { class: "head" },
        el(
          "span",
          { class: "title" },
          def.title,
          def.note ? el("span", { class: "note" }, def.note) : null,
        ),
        el("button", { class: "link", type: "button", onclick: () => exportPng(def.key) }, "PNG"),
      ),
      plot,
    );
    grid.append(box);
    state.charts.push(makeChart(def, plot, width));
  }
  grid.dataset.ready = String(Date.now());
}

/** Live data arrived: update each chart in place (or rebuild when lines appeared). */
function updateChartData() {
  const defs = chartDefs();
  if (defs.length !== state.charts.length) return renderCharts();
  for (const chart of state.charts) {
    const { series, data } = chartSeries(chart.kiln.def);
    if (series.length !== chart.series.length) return renderCharts();
    chart.setData(data);
    chart.root.parentElement.dataset.points = String(
      data.slice(1).reduce((n, s) => n + s[0].length, 0),
    );
  }
}

function renderLegend() {
  $("legend").replaceChildren(
    ...[...state.selected].map((id) =>
      el(
        "span",
        {},
        el("span", { class: "swatch", style: `background:${colorOf(id)}` }),
        runLabel(state.byId.get(id)),
      )
    ),
  );
}

/** Saves a chart as PNG: its canvas on white, with the title and a legend. */
function exportPng(key) {
  const chart = state.charts.find((c) => c.kiln.def.key === key);
  if (!chart) return;
  const src = chart.ctx.canvas;
  const dpr = devicePixelRatio;
  const ids = [...state.selected].filter((id) => state.data.has(id));
  const legendH = (18 * ids.length + 30) * dpr;
  const out = document.createElement("canvas");
  out.width = src.width;
  out.height = src.height + legendH;
  const ctx = out.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = "#111";
  ctx.font = `600 ${13 * dpr}px system-ui`;
  ctx.fillText(chart.kiln.def.title, 8 * dpr, 18 * dpr);
  ctx.drawImage(src, 0, 26 * dpr);
  ctx.font = `${12 * dpr}px system-ui`;
  ids.forEach((id, i) => {
    const y = src.height + (26 + 16 + 18 * i) * dpr;
    ctx.fillStyle = colorOf(id);
    ctx.fillRect(8 * dpr, y - 9 * dpr, 10 * dpr, 10 * dpr);
    ctx.fillStyle = "#111";
    ctx.fillText(runLabel(state.byId.get(id)), 24 * dpr, y);
  });
  out.toBlob((blob) => download(blob, `${key}_${state.x}.png`), "image/png");
}

function download(blob, name) {
  const a = el("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// ---------- run list ----------

function matchesFilter(run) {
  if (state.status !== "all" && run.status !== state.status) return false;
  if (state.sweep && run.sweep_id !== state.sweep) return false;
  for (const term of state.filter.toLowerCase().split(/\s+/).filter(Boolean)) {
    const eq = term.indexOf("=");
    if (eq > 0) {
      const key = term.slice(0, eq), want = term.slice(eq + 1);
      const hit = Object.entries(run.config).some(([k, v]) =>
        (k.toLowerCase() === key || k.toLowerCase().endsWith("." + key)) &&
        String(v).toLowerCase() === want
      );
      if (!hit) return false;
    } else {
      const hay = `${run.path} ${run.name} ${run.id} ${run.status}`.toLowerCase();
      if (!hay.includes(term)) return false;
    }
  }
  return true;
}

function visibleRuns() {
  return state.runs.filter(matchesFilter);
}

/** The sweep filter's options: every sweep id among the runs, with its run count. */
function renderSweepOptions() {
  const counts = new Map();
  for (const r of state.runs) {
    if (r.sweep_id) counts.set(r.sweep_id, (counts.get(r.sweep_id) ?? 0) + 1);
  }
  if (state.sweep && !counts.has(state.sweep)) state.sweep = "";
  const select = $("sweep-filter");
  select.replaceChildren(
    el("option", { value: "" }, "all sweeps"),
    ...[...counts].sort().map(([id, n]) => el("option", { value: id }, `${id} (${n})`)),
  );
  select.value = state.sweep;
  select.hidden = counts.size === 0;
}

/** With a sweep chosen: its varied keys against best val loss, best first. */
function renderSweepTable() {
  const section = $("sweep-section");
  const runs = state.runs.filter((r) => state.sweep && r.sweep_id === state.sweep);
  section.hidden = runs.length === 0;
  if (runs.length === 0) return;
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.sweep ?? {})))];
  const loss = (r) => r.best_val_loss ?? Infinity;
  runs.sort((a, b) => loss(a) - loss(b));
  const cell = (v) =>
    v === undefined || v === null ? "–" : typeof v === "number" ? fmt(v) : String(v);
  $("sweep-title").textContent = `Sweep ${state.sweep}`;
  $("sweep-table").replaceChildren(
    el("tr", {}, ...["run", "status", ...keys, "best val loss"].map((h) => el("th", {}, h))),
    ...runs.map((r) =>
      el(
        "tr",
        { "data-run": r.id },
        el(
          "td",
          {},
          el("button", { class: "link", type: "button", onclick: () => openRunPage(r.id) }, r.path),
        ),
        el("td", {}, el("span", { class: `status ${r.status}` }, r.status)),
        ...keys.map((k) => el("td", { class: "num" }, cell(r.sweep?.[k]))),
        el("td", { class: "num" }, fmt(r.best_val_loss)),
      )
    ),
  );
}

function renderRunList() {
  renderSweepOptions();
  renderSweepTable();
  const shown = visibleRuns();
  $("run-count").textContent =
    `${shown.length} of ${state.runs.length} runs · ${state.selected.size} selected`;
  $("run-list").replaceChildren(...shown.map((run) => {
    const box = el("input", { type: "checkbox", "data-run": run.id });
    box.checked = state.selected.has(run.id);
    box.addEventListener("click", (e) => e.stopPropagation());
    box.addEventListener("change", () => toggleRun(run.id, box.checked));
    return el(
      "li",
      { "data-run": run.id, onclick: () => toggleRun(run.id, !state.selected.has(run.id)) },
      box,
      el("span", { class: "swatch", style: `background:${colorOf(run.id)}` }),
      el(
        "div",
        {},
        el("div", { class: "name", title: run.path }, run.path),
        el(
          "div",
          { class: "sub" },
          `step ${fmt(run.step)} · best val ${fmt(run.best_val_loss)} `,
          el("button", {
            class: "link",
            type: "button",
            onclick: (e) => {
              e.stopPropagation();
              openRunPage(run.id);
            },
          }, "details"),
        ),
      ),
      el("span", { class: `status ${run.status}` }, run.status),
    );
  }));
}

async function toggleRun(id, on) {
  if (on) state.selected.add(id);
  else state.selected.delete(id);
  await selectionChanged();
}

async function selectionChanged() {
  writeHash();
  renderRunList();
  renderTables();
  await loadSelected();
  renderCharts();
  openStream();
}

// ---------- tables ----------

function renderTables() {
  renderSummary();
  renderConfig();
}

function renderSummary() {
  const runs = [...state.selected].map((id) => state.byId.get(id)).filter(Boolean);
  const head = el(
    "tr",
    {},
    ...[
      "",
      "run",
      "status",
      "params",
      "best val loss",
      "train loss",
      "step",
      "tokens",
      "total FLOPs",
      "mean tokens/s",
      "created",
      "",
    ].map((h) => el("th", {}, h)),
  );
  const rows = runs.map((r) =>
    el(
      "tr",
      { "data-run": r.id },
      el("td", {}, el("span", { class: "swatch", style: `background:${colorOf(r.id)}` })),
      el(
        "td",
        {},
        el("button", { class: "link", type: "button", onclick: () => openRunPage(r.id) }, r.path),
      ),
      el("td", {}, el("span", { class: `status ${r.status}` }, r.status)),
      el("td", { class: "num" }, fmtCount(r.params)),
      el("td", { class: "num" }, fmt(r.best_val_loss)),
      el("td", { class: "num" }, fmt(r.last_train_loss)),
      el("td", { class: "num" }, fmt(r.step)),
      el("td", { class: "num" }, fmtCount(r.tokens)),
      el("td", { class: "num" }, fmtCount(r.flops)),
      el("td", { class: "num" }, fmtCount(r.mean_tokens_per_s)),
      el("td", {}, (r.created ?? "").replace("T", " ").slice(0, 19)),
      el(
        "td",
        {},
        el("a", {
          href: `/api/runs/${encodeURIComponent(r.id)}/metrics.csv`,
          download: `${r.id}.csv`,
        }, "CSV"),
      ),
    )
  );
  $("summary-table").replaceChildren(head, ...rows);
}

function renderConfig() {
  const runs = [...state.selected].map((id) => state.byId.get(id)).filter(Boolean);
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.config)))].sort();
  const head = el(
    "tr",
    {},
    el("th", {}, "key"),
    ...runs.map((r) =>
      el(
        "th",
        {},
        el("span", { class: "swatch", style: `background:${colorOf(r.id)}` }),
        " ",
        r.path,
      )
    ),
  );
  const rows = [];
  for (const key of keys) {
    const values = runs.map((r) => r.config[key] ?? "–");
    const differs = new Set(values).size > 1;
    if (state.diffOnly && !differs) continue;
    rows.push(
      el(
        "tr",
        { class: differs ? "diff" : "" },
        el("td", {}, key),
        ...values.map((v) => el("td", {}, v)),
      ),
    );
  }
  $("config-table").replaceChildren(head, ...rows);
}

// ---------- a run's page ----------

async function openRunPage(id) {
  state.openRun = id;
  writeHash();
  const page = $("run-page");
  const detail = await getJson(`/api/runs/${encodeURIComponent(id)}`).catch(() => null);
  if (!detail) {
    page.hidden = true;
    return;
  }
  const s = detail.summary, m = detail.meta ?? {};
  const facts = [
    ["status", s.status + (m.message ? ` (${m.message})` : "")],
    ["created", s.created],
    ["updated", s.updated],
    ["git", m.git ? `${m.git.commit ?? "?"}${m.git.dirty ? " (dirty)" : ""}` : null],
    ["deno", m.deno],
    ["adapter", m.adapter?.description],
    ["parameters", s.params?.toLocaleString("en-US")],
    [
      "FLOPs/token",
      m.flops_per_token
        ? `${fmtCount(m.flops_per_token)} (${m.flops_formula ?? "?"})`
        : m.flops_formula,
    ],
    ["peak FLOP/s", m.peak_flops === null ? "unknown" : fmtCount(m.peak_flops)],
    ["step / tokens", `${fmt(s.step)} / ${fmtCount(s.tokens)}`],
    ["best val loss", fmt(s.best_val_loss)],
    ["L*", s.optimal_loss === null ? null : fmt(s.optimal_loss)],
  ].filter(([, v]) => v !== null && v !== undefined);
  const gallery = el("div", { class: "artifacts" });
  for (const a of detail.artifacts) {
    const url = `/api/runs/${encodeURIComponent(id)}/files/${a.dir}/${encodeURIComponent(a.name)}`;
    if (/\.(svg|png)$/i.test(a.name)) {
      gallery.append(
        el(
          "figure",
          {},
          el("a", { href: url, target: "_blank" }, el("img", { src: url, alt: a.name })),
          el("figcaption", {}, `${a.dir}/${a.name}`),
        ),
      );
    } else {
      const fig = el(
        "figure",
        {},
        el("figcaption", {}, el("a", { href: url, target: "_blank" }, `${a.dir}/${a.name}`)),
      );
      gallery.append(fig);
      renderJsonArtifact(url, fig);
    }
  }
  const events = detail.events.slice(-20).map((e) =>
    el("li", {}, `step ${e.step}: ${e.event}${e.detail ? ` — ${e.detail}` : ""}`)
  );
  page.replaceChildren(
    el("button", { class: "close", type: "button", onclick: closeRunPage }, "close"),
    el("h2", {}, el("span", { class: "swatch", style: `background:${colorOf(id)}` }), " ", s.path),
    el(
      "table",
      { class: "facts" },
      ...facts.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v))),
    ),
    el(
      "p",
      {},
      el(
        "a",
        { href: `/api/runs/${encodeURIComponent(id)}/metrics.csv`, download: `${id}.csv` },
        "export series as CSV",
      ),
    ),
    detail.artifacts.length ? el("h2", {}, "Attention maps and probes") : null,
    detail.artifacts.length ? gallery : null,
    events.length ? el("h2", {}, "Events") : null,
    events.length ? el("ul", {}, events) : null,
    el("details", {}, el("summary", {}, "config.yaml"), el("pre", {}, detail.config_text)),
  );
  page.hidden = false;
  page.scrollIntoView({ block: "nearest" });
}

function closeRunPage() {
  state.openRun = null;
  $("run-page").hidden = true;
  writeHash();
}

/** Draws a JSON artifact: a numeric matrix as a heatmap, point pairs as a scatter. */
async function renderJsonArtifact(url, fig) {
  const value = await getJson(url).catch(() => null);
  const matrix = findMatrix(value);
  if (!matrix) return;
  const rows = matrix.length, cols = matrix[0].length;
  const isPoints = cols === 2 || cols === 3;
  const canvas = el("canvas", { width: isPoints ? 320 : cols, height: isPoints ? 320 : rows });
  const ctx = canvas.getContext("2d");
  if (isPoints) drawScatter(ctx, matrix);
  else drawHeatmap(ctx, matrix);
  fig.prepend(canvas);
}

function findMatrix(v, depth = 0) {
  if (depth > 4 || v === null || typeof v !== "object") return null;
  if (
    Array.isArray(v) && v.length > 0 &&
    v.every((r) =>
      Array.isArray(r) && r.length === v[0].length &&
      r.length > 0 && r.every((x) => typeof x === "number")
    )
  ) return v;
  for (const child of Array.isArray(v) ? v : Object.values(v)) {
    const m = findMatrix(child, depth + 1);
    if (m) return m;
  }
  return null;
}

function drawHeatmap(ctx, m) {
  const flat = m.flat();
  const lo = Math.min(...flat), hi = Math.max(...flat);
  const img = ctx.createImageData(m[0].length, m.length);
  m.forEach((row, i) =>
    row.forEach((v, j) => {
      const t = hi > lo ? (v - lo) / (hi - lo) : 0;
      const k = 4 * (i * row.length + j);
      img.data[k] = 255 - Math.round(t * 200);
      img.data[k + 1] = 255 - Math.round(t * 160);
      img.data[k + 2] = 255 - Math.round(t * 60);
      img.data[k + 3] = 255;
    })
  );
  ctx.putImageData(img, 0, 0);
}

/** 2 columns: x/y; 3 columns: barycentric coordinates on a triangle (belief simplex). */
function drawScatter(ctx, m) {
  const pts = m[0].length === 3 ? m.map(([_a, b, c]) => [b + c / 2, c * Math.sqrt(3) / 2]) : m;
  const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, 320, 320);
  ctx.fillStyle = "rgba(37, 99, 235, 0.5)";
  for (const [x, y] of pts) {
    ctx.fillRect(10 + 300 * (x - x0) / (x1 - x0 || 1), 310 - 300 * (y - y0) / (y1 - y0 || 1), 2, 2);
  }
}

// ---------- start ----------

function bindControls() {
  $("x-axis").value = state.x;
  $("log-y").checked = state.logY;
  $("smoothing").value = String(state.smooth);
  $("smoothing-value").textContent = state.smooth.toFixed(2);
  $("x-axis").addEventListener("change", async (e) => {
    state.x = e.target.value;
    writeHash();
    await loadSelected(true);
    renderCharts();
    openStream();
  });
  $("log-y").addEventListener("change", (e) => {
    state.logY = e.target.checked;
    writeHash();
    renderCharts();
  });
  let smoothTimer = null;
  $("smoothing").addEventListener("input", (e) => {
    state.smooth = Number(e.target.value);
    $("smoothing-value").textContent = state.smooth.toFixed(2);
    clearTimeout(smoothTimer);
    smoothTimer = setTimeout(async () => {
      writeHash();
      await reloadSmoothing();
      renderCharts();
    }, 120);
  });
  $("filter").addEventListener("input", (e) => {
    state.filter = e.target.value;
    renderRunList();
  });
  $("status-filter").addEventListener("change", (e) => {
    state.status = e.target.value;
    renderRunList();
  });
  $("sweep-filter").addEventListener("change", (e) => {
    state.sweep = e.target.value;
    renderRunList();
  });
  $("select-all").addEventListener("click", () => {
    for (const r of visibleRuns()) state.selected.add(r.id);
    selectionChanged();
  });
  $("select-none").addEventListener("click", () => {
    state.selected.clear();
    selectionChanged();
  });
  $("diff-only").addEventListener("change", (e) => {
    state.diffOnly = e.target.checked;
    renderConfig();
  });
  let resizeTimer = null;
  addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(renderCharts, 150);
  });
}

/** Without a bookmarked selection: running runs, then the newest, six at most. */
function defaultSelection() {
  const byDate = [...state.runs].sort((a, b) => (b.created ?? "").localeCompare(a.created ?? ""));
  const running = byDate.filter((r) => r.status === "running");
  return [...new Set([...running, ...byDate].map((r) => r.id))].slice(0, 6);
}

async function main() {
  const fromHash = readHash();
  bindControls();
  const { runs } = await getJson("/api/runs");
  setRuns(runs);
  const wanted = fromHash ?? defaultSelection();
  for (const id of wanted) if (state.byId.has(id)) state.selected.add(id);
  await selectionChanged();
  state.firstChartMs = performance.now();
  if (state.openRun && state.byId.has(state.openRun)) openRunPage(state.openRun);
  globalThis.kiln = { state, ready: true };
}

main().catch((err) => {
  $("charts").replaceChildren(el("div", { class: "empty" }, `Could not load runs: ${err.message}`));
});
