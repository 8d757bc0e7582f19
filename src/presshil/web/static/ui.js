// presshil results browser: runs, one run's zoomable plot, overlays, trends.
"use strict";
const $ = (id) => document.getElementById(id);
const fmt = (x, d = 4) => (x === null || x === undefined) ? "-" : Number(x).toPrecision(d);
const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
const WIDTH = () => Math.max(600, window.innerWidth - 40);
let runPlot = null, overlayPlot = null, trendPlot = null, openRun = null, zoomTimer = null;
window.presshilPlotReady = null;   // set (performance.now()) when a run's first full plot is drawn

function say(text, ok) { const m = $("message"); m.textContent = text || ""; m.className = ok ? "ok" : "error"; }

async function getJSON(url) {
  let r;
  try { r = await fetch(url); } catch (e) { throw new Error(`the results browser is not reachable: ${e}`); }
  const body = await r.json().catch(() => ({ error: `${url}: HTTP ${r.status}` }));
  if (!r.ok) throw new Error(body.error || `${url}: HTTP ${r.status}`);
  return body;
}

function cell(tr, text, cls) { const td = document.createElement("td"); td.textContent = text ?? ""; if (cls) td.className = cls; tr.appendChild(td); return td; }

async function loadRuns() {
  const q = new URLSearchParams(new FormData($("filters")));
  for (const [k, v] of [...q.entries()]) if (!v) q.delete(k);
  try {
    const body = await getJSON(`api/runs?${q}`);
    $("store").textContent = body.store;
    const tb = $("runs").tBodies[0]; tb.innerHTML = "";
    for (const r of body.runs) {
      const tr = document.createElement("tr"); tr.dataset.id = r.id; tr.className = "run";
      const td = cell(tr, ""); const cb = document.createElement("input"); cb.type = "checkbox"; cb.className = "pick"; cb.value = r.id;
      cb.onchange = refreshAlignSteps; td.appendChild(cb);
      for (const x of [r.id, r.protocol, `${r.press} ${r.press_url}`, r.firmware, r.status, r.station, r.started_utc, r.n_samples, Object.entries(r.meta || {}).map(([k, v]) => `${k}=${v}`).join(" ")]) cell(tr, x);
      tr.cells[5].className = r.status === "passed" ? "pass" : (r.status === "running" ? "" : "fail");
      for (let i = 1; i < tr.cells.length; i++) tr.cells[i].onclick = () => openRunView(r.id);
      tb.appendChild(tr);
    }
    if (!body.runs.length) say("no runs match these filters", true); else say("");
    loadCriteria();
  } catch (e) { say(e.message, false); }
}

function traceToData(tr, keys) { return [tr.t, ...keys.map((k) => tr.series[k] || tr.t.map(() => null))]; }

async function openRunView(id) {
  const t0 = performance.now();
  try {
    const [run, tr] = await Promise.all([getJSON(`api/runs/${id}`), getJSON(`api/runs/${id}/trace?px=${WIDTH()}`)]);
    openRun = run; $("run-view").hidden = false;
    for (const row of document.querySelectorAll("#runs tr.run")) row.classList.toggle("sel", row.dataset.id == id);
    $("run-title").textContent = `run ${run.id}: ${run.protocol} on ${run.press} (${run.firmware || "?"}) ${run.status}, ${run.n_samples} samples`;
    $("export-csv").href = `api/runs/${id}/export?format=csv`; $("export-parquet").href = `api/runs/${id}/export?format=parquet`;
    // a run with no stored samples (a passed sweep variant) has nothing to export
    $("export").hidden = !run.n_samples; $("no-export").hidden = !!run.n_samples;
    const tb = $("run-verdicts").tBodies[0]; tb.innerHTML = "";
    for (const v of run.verdicts) {
      const row = document.createElement("tr"); row.className = "verdict";
      for (const x of [v.step_label, v.label, v.value_text, v.limit_text, v.unit]) cell(row, x);
      const c = cell(row, v.passed ? "PASS" : "FAIL", v.passed ? "pass" : "fail"); if (v.detail) c.title = v.detail;
      tb.appendChild(row);
    }
    $("run-events").innerHTML = "";
    for (const e of run.events) { const li = document.createElement("li"); li.textContent = `${e.t_text ? e.t_text + " " : ""}${e.kind}: ${e.text}`; $("run-events").appendChild(li); }
    // no samples stored (a passed sweep variant): a plain sentence, not an empty plot frame
    $("run-plot").hidden = !run.n_samples;
    $("no-export").textContent = `no samples stored for run ${run.id} (a passed sweep variant keeps none): no plot and nothing to export`;
    if (runPlot) { runPlot.destroy(); runPlot = null; }
    if (!run.n_samples) { window.presshilPlotReady = performance.now(); say(""); return; }
    // channels are drawn when the window is narrow enough for raw samples (null otherwise)
    const nch = (run.identity && run.identity.channel_count) || Object.keys(tr.series).filter((k) => k.startsWith("ch")).length;
    const keys = ["setpoint", "pressure", "force", ...Array.from({ length: nch }, (_, i) => `ch${i + 1}`)];
    const series = [{ label: "t (s)" }, ...keys.map((k, i) => ({ label: k, stroke: COLOURS[i % 8], scale: k === "setpoint" || k === "pressure" ? "mpa" : "kn", dash: k === "setpoint" ? [6, 4] : undefined }))];
    runPlot = new uPlot({
      width: WIDTH(), height: 360, series, scales: { x: { time: false } },
      axes: [{ label: "t (s)" }, { scale: "mpa", label: "MPa" }, { scale: "kn", side: 1, label: "kN", grid: { show: false } }],
      hooks: { setScale: [(u, key) => { if (key === "x") zoomTo(u, id, keys); }] },
    }, traceToData(tr, keys), $("run-plot"));
    runPlot.presshilKeys = keys;
    window.presshilPlotReady = performance.now(); window.presshilOpenMs = window.presshilPlotReady - t0;
    say("");
  } catch (e) { say(e.message, false); }
}

function zoomTo(u, id, keys) {
  clearTimeout(zoomTimer);
  zoomTimer = setTimeout(async () => {
    const { min, max } = u.scales.x;
    try {
      const tr = await getJSON(`api/runs/${id}/trace?t0=${min}&t1=${max}&px=${WIDTH()}`);
      if (!openRun || openRun.id !== id) return;
      u.setData(traceToData(tr, keys), false);
    } catch (e) { say(e.message, false); }
  }, 150);
}

function picked() { return [...document.querySelectorAll("input.pick:checked")].map((x) => Number(x.value)).sort((a, b) => a - b); }

let alignAsked = 0;   // the latest tick's request: an older answer arriving late is dropped
async function refreshAlignSteps() {
  const ids = picked();
  if (!ids.length) return;
  const asked = ++alignAsked;
  try {
    const run = await getJSON(`api/runs/${ids[0]}`);
    if (asked !== alignAsked) return;
    // the choice as it stands now: the operator may have picked a step while this was asked
    const sel = $("align-step"), keep = sel.value;
    sel.innerHTML = '<option value="">(run start)</option>';
    for (const s of run.steps) { const o = document.createElement("option"); o.value = s.name; o.textContent = `${s.label} (${s.kind})`; sel.appendChild(o); }
    sel.value = keep;
  } catch (e) { say(e.message, false); }
}

async function overlay() {
  const ids = picked(), step = $("align-step").value;
  if (ids.length < 2) { say("tick at least two runs to overlay", false); return; }
  try {
    const tables = [], series = [{ label: step ? `t − start of ${step} (s)` : "t (s)" }];
    for (const [i, id] of ids.entries()) {
      const [run, tr] = await Promise.all([getJSON(`api/runs/${id}`), getJSON(`api/runs/${id}/trace?px=${WIDTH()}`)]);
      let t0 = 0;
      if (step) {
        const s = run.steps.find((x) => x.name === step);
        if (!s) throw new Error(`run ${id} has no step ${step}; choose a step every ticked run has`);
        t0 = s.t_start_s;
      }
      const t = tr.t.map((x) => x - t0);
      const order = t.map((_, k) => k).sort((a, b) => t[a] - t[b]);  // uPlot.join needs ascending x
      tables.push([order.map((k) => t[k]), order.map((k) => tr.series.pressure[k])]);
      series.push({ label: `run ${id} pressure (${run.firmware || "?"})`, stroke: COLOURS[i % 8], spanGaps: true });
    }
    if (overlayPlot) overlayPlot.destroy();
    overlayPlot = new uPlot({ width: WIDTH(), height: 320, series, scales: { x: { time: false } }, axes: [{}, { label: "MPa" }] },
      uPlot.join(tables), $("overlay-plot"));
    overlayPlot.presshilRuns = ids;
    say(`overlaid runs ${ids.join(", ")}${step ? " aligned on the start of " + step : ""}`, true);
  } catch (e) { say(e.message, false); }
}

async function loadCriteria() {
  const protocol = new FormData($("filters")).get("protocol") || "";
  try {
    const body = await getJSON(`api/criteria?protocol=${encodeURIComponent(protocol)}`);
    const sel = $("criterion"); const keep = sel.value; sel.innerHTML = "";
    for (const c of body.criteria) {
      const o = document.createElement("option"); o.value = JSON.stringify(c);
      o.textContent = `${c.protocol} / ${c.step} / ${c.label}${c.unit ? " (" + c.unit + ")" : ""}`; sel.appendChild(o);
    }
    if (keep) sel.value = keep;
  } catch (e) { say(e.message, false); }
}

async function trend() {
  if (!$("criterion").value) { say("no judged criterion in this store yet", false); return; }
  const c = JSON.parse($("criterion").value);
  try {
    const q = new URLSearchParams({ criterion: c.criterion, step: c.step, protocol: c.protocol });
    const { points } = await getJSON(`api/trend?${q}`);
    const tb = $("trend-table").tBodies[0]; tb.innerHTML = "";
    for (const p of points) {
      const tr = document.createElement("tr"); tr.className = "trend";
      for (const x of [p.run_id, p.firmware, p.started_utc, fmt(p.value), fmt(p.limit)]) cell(tr, x);
      cell(tr, p.passed ? "PASS" : "FAIL", p.passed ? "pass" : "fail"); tb.appendChild(tr);
    }
    if (trendPlot) trendPlot.destroy();
    trendPlot = new uPlot({
      width: WIDTH(), height: 260, scales: { x: { time: false } },
      series: [{ label: "run" }, { label: `${c.label} (${c.unit || ""})`, stroke: COLOURS[0], points: { size: 7 } },
        { label: "limit", stroke: "#d62728", dash: [6, 4] }],
      axes: [{ label: "run id" }, { label: c.unit || "" }],
    }, [points.map((p) => p.run_id), points.map((p) => p.value), points.map((p) => p.limit)], $("trend-plot"));
  } catch (e) { say(e.message, false); }
}

// runs in progress on every station, each linked to its station's live view where it serves one
async function loadRunning() {
  try {
    const body = await getJSON("api/running");
    const tb = $("running").tBodies[0]; tb.innerHTML = "";
    for (const r of body.runs) {
      const tr = document.createElement("tr"); tr.dataset.id = r.id; tr.className = "run";
      for (const x of [r.id, r.station, r.protocol, `${r.press} ${r.press_url}`, r.started_utc, r.n_samples]) cell(tr, x);
      const td = cell(tr, r.live_view ? "" : "(no live view)");
      if (r.live_view) { const a = document.createElement("a"); a.href = r.live_view; a.target = "_blank"; a.rel = "noopener"; a.textContent = "live view"; td.appendChild(a); }
      for (let i = 0; i < 6; i++) tr.cells[i].onclick = () => openRunView(r.id);
      tb.appendChild(tr);
    }
    $("running-none").hidden = body.runs.length > 0;
  } catch (e) { say(e.message, false); }
}

$("filters").onsubmit = (e) => { e.preventDefault(); loadRuns(); loadRunning(); };
loadRunning(); setInterval(loadRunning, 5000);
$("overlay-btn").onclick = overlay;
$("trend-btn").onclick = trend;
loadRuns().then(() => { const m = location.hash.match(/^#run=(\d+)$/); if (m) openRunView(Number(m[1])); });
