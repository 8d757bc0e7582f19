// presshil live view: draws the run from /api/stream (server-sent events).
"use strict";
const params = new URLSearchParams(location.search);
const token = params.get("token") || "";
const MAX_POINTS = 20000;
let data = [[], [], []];      // t, setpoint, pressure, then one array per channel
let nch = 0, plot = null, band = null, stepCount = 0, currentStep = null, info = {};
const $ = (id) => document.getElementById(id);
const fmt = (x, d = 3) => (x === null || x === undefined) ? "-" : Number(x).toFixed(d);
// run time as people read it: seconds up to 10 minutes, then h:mm:ss
function fmtTime(s, d = 1, hms = false) {
  if (s === null || s === undefined) return "-";
  if (!hms && Math.abs(s) < 600) return `${Number(s).toFixed(d)} s`;
  const t = Math.round(Math.abs(s)), h = Math.floor(t / 3600), m = Math.floor(t / 60) % 60, sec = t % 60;
  return `${s < 0 ? "-" : ""}${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
}
let lastStep = null;
// four significant digits, written out for ordinary values (0.00005491, not 5.491e-5 or 0.0000)
const fmtNum = (x) => (x === null || x === undefined) ? "-" : String(parseFloat(Number(x).toPrecision(4)));
const TIME_INCRS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
  7200, 10800, 21600, 43200, 86400, 172800, 432000, 864000];

function say(text, ok) { const m = $("message"); m.textContent = text; m.className = ok ? "ok" : "error"; }

function makePlot() {
  const series = [{ label: "t", value: (u, v) => fmtTime(v) },
    { label: "setpoint (MPa)", stroke: "#888", dash: [6, 4], scale: "mpa" },
    { label: "pressure (MPa)", stroke: "#1f77b4", width: 2, scale: "mpa" }];
  const colours = ["#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
  for (let i = 0; i < nch; i++) series.push({ label: `ch${i + 1} (kN)`, stroke: colours[i % 8], scale: "kn" });
  const opts = {
    width: Math.max(600, window.innerWidth - 40), height: 380, series,
    // both axes start at zero, so a channel at zero force sits on the pressure's zero line
    scales: { x: { time: false }, mpa: { range: (u, lo, hi) => [Math.min(0, lo), Math.max(hi, 1)] },
              kn: { range: (u, lo, hi) => [Math.min(0, lo), Math.max(hi, 0.1)] } },
    // beyond 10 minutes every tick reads h:mm:ss, on whole minutes and hours
    axes: [{ label: "run time", incrs: TIME_INCRS,
             values: (u, vals) => vals.map((v) => (u.scales.x.max < 600 ? `${+v.toFixed(3)} s` : fmtTime(v, 0, true))) },
           { scale: "mpa", label: "MPa" }, { scale: "kn", side: 1, label: "kN", grid: { show: false } }],
    hooks: { drawClear: [(u) => drawBand(u)] },
  };
  plot = new uPlot(opts, data, $("chart"));
}

function drawBand(u) {
  if (!band) return;
  const ctx = u.ctx, [target, hw] = band.band;
  const x0 = u.valToPos(band.t_start_s, "x", true);
  const x1 = u.valToPos(band.t_end_s ?? data[0][data[0].length - 1] ?? band.t_start_s, "x", true);
  const y0 = u.valToPos(target + hw, "mpa", true), y1 = u.valToPos(target - hw, "mpa", true);
  ctx.save(); ctx.fillStyle = "rgba(255, 165, 0, 0.25)";
  ctx.fillRect(Math.min(x0, x1), y0, Math.abs(x1 - x0) || 2, y1 - y0); ctx.restore();
}

// half the points: the time span cut into equal buckets, each keeping its first, last, lowest
// and highest pressure (peaks survive; a line through them strays by at most one bucket's time,
// where buckets by count joined a short ramp's start to a peak far into a long hold)
function halve(d) {
  const n = d[0].length, buckets = Math.max(1, Math.floor(n / 8));
  const t0 = d[0][0], width = (d[0][n - 1] - t0) / buckets;
  const keep = [];
  let start = 0;
  while (start < n) {
    const b = width > 0 ? Math.min(buckets - 1, Math.floor((d[0][start] - t0) / width)) : 0;
    const edge = t0 + (b + 1) * width;
    let stop = start + 1;
    while (stop < n && (b === buckets - 1 || !(width > 0) || d[0][stop] < edge)) stop++;
    let lo = start, hi = start;
    for (let j = start; j < stop; j++) { if (d[2][j] < d[2][lo]) lo = j; if (d[2][j] > d[2][hi]) hi = j; }
    for (const k of [...new Set([start, lo, hi, stop - 1])].sort((x, y) => x - y)) keep.push(k);
    start = stop;
  }
  return d.map((a) => keep.map((k) => a[k]));
}

function addPoints(points) {
  for (const p of points) for (let i = 0; i < data.length; i++) data[i].push(p[i] ?? null);
  if (data[0].length > MAX_POINTS) data = halve(data);
  if (plot) plot.setData(data);
}

function showLast(last, samples) {
  if (!last || last.t_s === undefined) return;
  $("t").textContent = fmtTime(last.t_s);
  $("pressure").textContent = fmt(last.pressure_mpa);
  $("setpoint").textContent = fmt(last.setpoint_mpa);
  $("cof").textContent = last.cof_mm ? `(${fmt(last.cof_mm[0], 2)}, ${fmt(last.cof_mm[1], 2)}) mm` : "-";
  if (samples !== undefined) $("samples").textContent = samples;
  const total = info.expected_total_s;
  if (total) $("remaining").textContent = `about ${fmtTime(Math.max(0, total - last.t_s), 0)} of ${fmtTime(total, 0)} left`;
}

function showStep(s) {
  currentStep = s; if (s) lastStep = s;
  $("step").textContent = s ? `step ${s.index + 1}/${stepCount} ${s.name} (${s.kind})` : `step -/${stepCount}`;
  if (s && s.band) band = s; else if (s) band = null;
}

// after the run: the step it ended in, not "step -/N"
function showEnded() {
  $("remaining").textContent = ""; $("stop").disabled = true;
  $("step").textContent = lastStep ? `ended in step ${lastStep.index + 1}/${stepCount} ${lastStep.name}` : "ended";
}

function addVerdict(v) {
  const tr = document.createElement("tr");
  tr.className = "verdict";
  const crit = v.name && v.name !== v.criterion ? `${v.name} [${v.criterion}]` : v.criterion;
  for (const x of [v.step, crit, fmtNum(v.value), fmtNum(v.limit), v.unit]) {
    const td = document.createElement("td"); td.textContent = x; tr.appendChild(td);
  }
  const td = document.createElement("td"); td.textContent = v.passed ? "PASS" : "FAIL";
  td.className = v.passed ? "pass" : "fail"; if (!v.passed && v.detail) td.title = v.detail;
  tr.appendChild(td); $("verdicts").tBodies[0].appendChild(tr);
}

function addEvent(e) {
  const li = document.createElement("li");
  li.textContent = `${e.t_s === null ? "" : fmtTime(e.t_s, 2) + " "}${e.kind}: ${e.text ?? e.message}`;
  if (["abort", "error", "interrupted", "transport-error", "stop"].includes(e.kind)) li.className = "fail";
  $("events").appendChild(li);
}

function addPrompt(p) {
  const box = $("prompts"); if (box.querySelector(".muted")) box.innerHTML = "";
  const div = document.createElement("div"); div.className = "prompt"; div.id = `prompt-${p.id}`;
  const text = document.createElement("p"); text.textContent = p.text; div.appendChild(text);
  const b = document.createElement("button"); b.textContent = "Acknowledge"; b.className = "ack";
  b.onclick = async () => {
    const r = await post(`api/prompts/${p.id}/ack`);
    if (r.ok) div.remove(); else say(r.error, false);
  };
  div.appendChild(b); box.appendChild(div);
}

async function post(path) {
  try {
    const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-Presshil-Token": token }, body: JSON.stringify({ token }) });
    return await r.json();
  } catch (e) { return { ok: false, error: `the live view is not reachable: ${e}` }; }
}

function setStatus(s) { const el = $("status"); el.textContent = s; el.className = s === "passed" ? "pass" : (s === "running" ? "" : "fail"); }

function onFrame(f) {
  switch (f.type) {
    case "snapshot": {
      info = f.info || {}; stepCount = f.step_count || 0;
      if (info.protocol) { $("protocol").textContent = info.protocol; $("press").textContent = `${info.press || ""} via ${info.press_url || ""}${info.run_id ? ", run " + info.run_id : ""}`; }
      nch = Math.max(nch, info.channels || (f.points[0] ? f.points[0].length - 3 : 0));
      data = Array.from({ length: 3 + nch }, () => []);
      if (!plot) makePlot(); else { plot.destroy(); makePlot(); }
      addPoints(f.points);
      $("verdicts").tBodies[0].innerHTML = ""; f.verdicts.forEach(addVerdict);
      $("events").innerHTML = ""; f.events.forEach(addEvent);
      f.prompts.forEach(addPrompt); showStep(f.current_step); showLast(f.last, f.samples);
      setStatus(f.status);
      if (info.state === "finished") { if (f.steps.length) lastStep = f.steps[f.steps.length - 1]; showEnded(); say(`run ended: ${f.status}`, f.status === "passed"); }
      break;
    }
    case "start": info = f.info; stepCount = f.step_count;
      $("protocol").textContent = info.protocol; $("press").textContent = `${info.press} via ${info.press_url}`;
      if ((info.channels || 0) !== nch) { nch = info.channels || 0; data = Array.from({ length: 3 + nch }, () => []); if (plot) plot.destroy(); makePlot(); }
      break;
    case "points": addPoints(f.points); showLast(f.last, f.samples); break;
    case "step": if (f.t_end_s === null) showStep(f); else if (band && band.index === f.index) band = { ...band, t_end_s: f.t_end_s }; break;
    case "verdict": addVerdict(f); break;
    case "event": addEvent(f); break;
    case "prompt": addPrompt(f); break;
    case "prompt-ack": { const el = $(`prompt-${f.id}`); if (el) el.remove(); break; }
    case "finish": {
      info.state = "finished"; setStatus(f.status); showEnded();
      // keep the answer to the operator's STOP on screen: the end it caused follows it
      const before = $("message").textContent, kept = before.includes("STOP accepted") ? `${before} ` : "";
      say(`${kept}run ended: ${f.status}`, f.status === "passed"); break;
    }
    case "closed": {
      // the server stopped serving: no reconnecting, the page keeps the final state
      es.close();
      const ended = info.state === "finished" ? $("message").textContent + "; " : "";
      say(`${ended}the live view has stopped serving (this page keeps what it shows)`, info.state === "finished" && $("status").textContent === "passed");
      break;
    }
  }
  if (f.dropped) $("samples").title = `${f.dropped} frames dropped for this viewer (slow connection)`;
}

$("stop").onclick = async () => {
  if (!token) { say("STOP refused: this page was opened without the run's token; open the link printed in the terminal (it ends in ?token=…)", false); }
  const r = await post("api/stop");
  if (r.ok) say(r.message, true); else say(r.error, false);
};

const es = new EventSource("api/stream");
es.onmessage = (m) => onFrame(JSON.parse(m.data));
es.onerror = () => { if (info.state !== "finished") say("connection to the live view lost; retrying…", false); };
window.addEventListener("resize", () => plot && plot.setSize({ width: Math.max(600, window.innerWidth - 40), height: 380 }));
