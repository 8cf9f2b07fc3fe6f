// The operator dashboard: reads the key-protected JSON API with the key kept in sessionStorage
// and draws its charts with plotly.js (served from this origin).
"use strict";
(function () {
  const KEY = "shoprec-admin-key";
  const $ = (id) => document.getElementById(id);
  const COLORS = ["#1f77b4", "#e4572e", "#2ca02c", "#9467bd", "#8c564b"];
  let timer = null;
  const colors = new Map();  // one colour per variant name, in every chart
  const colorOf = (name) => {
    if (!colors.has(name)) colors.set(name, COLORS[colors.size % COLORS.length]);
    return colors.get(name);
  };

  const key = () => sessionStorage.getItem(KEY);
  async function api(path, options = {}) {
    const headers = { "X-API-Key": key(), ...(options.body ? { "Content-Type": "application/json" } : {}) };
    const r = await fetch(path, { ...options, headers });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) {
      const err = new Error(body.detail || body.error || `${r.status}`);
      err.status = r.status;
      throw err;
    }
    return body;
  }
  const pct = (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(2)}%`);
  const ci = (m) => (m && m.rate !== null ? `${pct(m.rate)} [${pct(m.low)}, ${pct(m.high)}]` : "–");
  const num = (x, d = 1) => (x === null || x === undefined ? "–" : Number(x).toFixed(d));
  const when = (t) => new Date(t * 1000).toISOString().slice(11, 19);
  function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); }
  function fill(tbody, rows) {
    tbody.replaceChildren();
    for (const cells of rows) { const tr = document.createElement("tr"); cells.forEach((c) => cell(tr, c)); tbody.appendChild(tr); }
  }

  function showLogin(message) {
    $("login").hidden = false; $("dashboard").hidden = true; $("logout").hidden = true;
    $("login-error").textContent = message || "";
    if (timer) { clearInterval(timer); timer = null; }
  }

  async function refresh() {
    try {
      const [exps, over] = await Promise.all([api("/admin/experiments"), api("/admin/overview")]);
      $("login").hidden = true; $("dashboard").hidden = false; $("logout").hidden = false;
      drawExperiment(exps.running);
      drawOverview(over);
      fill($("finished-rows"), exps.finished.map((e) => [e.id, e.name, e.state, e.winner || "–",
        e.variants.map((v) => v.name).join(", ")]));
    } catch (err) {
      if (err.status === 401 || err.status === 429) { sessionStorage.removeItem(KEY); showLogin(err.message); }
      else $("exp-error").textContent = err.message;
    }
  }

  function drawOverview(o) {
    $("serving-label").textContent = `serving ${o.serving.model}`;
    fill($("generation-rows"), o.generations.map((g) => [g.generation, g.model, g.created || "", g.serving ? "serving" : ""]));
    fill($("retrain-rows"), o.retrains.map((j) => [j.job, j.state, num(j.champion_metrics["ndcg@10"], 4),
      num(j.challenger_metrics["ndcg@10"], 4), j.reason]));
    const t = o.traffic.map((p) => new Date(p.t * 1000));
    const variants = [...new Set(o.traffic.flatMap((p) => Object.keys(p.by_variant)))];
    Plotly.react("traffic-chart", variants.map((v) => ({
      x: t, y: o.traffic.map((p) => p.by_variant[v] || 0), type: "bar", name: v, marker: { color: colorOf(v) },
    })), { title: "lists served per minute", barmode: "stack", margin: { t: 40, r: 10 }, height: 300 },
    { displayModeBar: false, responsive: true });
    Plotly.react("latency-chart", [
      { x: t, y: o.traffic.map((p) => p.p95_ms), mode: "lines+markers", name: "p95 ms" },
      { x: t, y: o.traffic.map((p) => p.errors), type: "bar", name: "errors", yaxis: "y2", opacity: 0.5 },
    ], { title: "p95 latency and errors per minute", margin: { t: 40, r: 40 }, height: 300,
      yaxis: { title: "ms", rangemode: "tozero" },
      yaxis2: { overlaying: "y", side: "right", title: "errors", rangemode: "tozero" } },
    { displayModeBar: false, responsive: true });
  }

  function drawExperiment(r) {
    $("experiment-none").hidden = !!r; $("experiment-running").hidden = !r;
    if (!r) return;
    const e = r.experiment;
    $("exp-title").textContent = `${e.name} (${e.id})`;
    $("exp-meta").textContent = `ramp ${pct(e.ramp)}, split ${e.variants.map((v) => `${v.name} ${v.weight}`).join(" / ")}`;
    $("exp-decision").textContent = `Decision: ${r.stopping.decision}. ${r.stopping.rule}.`;
    fill($("variant-rows"), r.variants.map((v) => [v.name, v.shoppers, v.exposures, ci(v.ctr), ci(v.add_to_cart),
      ci(v.conversion), v.revenue_per_exposure ? `${num(v.revenue_per_exposure.mean, 2)} [${num(v.revenue_per_exposure.low, 2)}, ${num(v.revenue_per_exposure.high, 2)}]` : "no prices",
      v.lift_ctr && v.lift_ctr.lift !== null ? `${pct(v.lift_ctr.lift)} [${pct(v.lift_ctr.low)}, ${pct(v.lift_ctr.high)}] p=${num(v.lift_ctr.p_value, 3)}` : (v.name === r.control ? "control" : "–"),
      num(v.p95_latency_ms), pct(v.error_rate.rate), ci(v.ads)]));
    const broken = r.guardrails.filter((g) => !g.ok).map((g) => `${g.variant}: ${g.check}`);
    $("exp-checks").textContent = `SRM p = ${num(r.srm.p_value, 4)} (${r.srm.ok ? "split as configured" : "MISMATCH: do not trust"}); guardrails: ${broken.length ? broken.join(", ") : "all kept"}.`;
    const traces = [];
    e.variants.forEach((v) => {
      const pts = r.series[v.name] || [];
      const x = pts.map((p) => new Date(p.t * 1000));
      const color = colorOf(v.name);
      traces.push({ x: [...x, ...x.slice().reverse()], y: [...pts.map((p) => p.high), ...pts.map((p) => p.low).reverse()],
        fill: "toself", fillcolor: color, opacity: 0.15, line: { width: 0 }, hoverinfo: "skip", showlegend: false, name: `${v.name} 95% CI` });
      traces.push({ x, y: pts.map((p) => p.ctr), mode: "lines+markers", name: v.name, line: { color } });
    });
    Plotly.react("ctr-chart", traces, { title: "CTR per variant (cumulative, 95% interval)", margin: { t: 40, r: 10 },
      height: 320, yaxis: { tickformat: ".1%" } }, { displayModeBar: false, responsive: true });
    Plotly.react("exposure-chart", e.variants.map((v) => ({
      x: (r.series[v.name] || []).map((p) => new Date(p.t * 1000)), y: (r.series[v.name] || []).map((p) => p.exposures),
      type: "bar", name: v.name, marker: { color: colorOf(v.name) } })),
    { title: "exposures per variant", barmode: "group", margin: { t: 40, r: 10 }, height: 320 },
    { displayModeBar: false, responsive: true });
    const select = $("promote-variant");
    if (select.dataset.exp !== e.id) {
      select.replaceChildren(...e.variants.map((v) => new Option(v.name, v.name)));
      select.dataset.exp = e.id;
    }
    if (r.stopping.winner) select.value = r.stopping.winner;
    $("stop-button").onclick = () => act(`/admin/experiments/${e.id}/stop`, {});
    $("promote-button").onclick = () => act(`/admin/experiments/${e.id}/promote`, { variant: select.value });
  }

  async function act(path, body) {
    $("exp-error").textContent = "";
    try { await api(path, { method: "POST", body: JSON.stringify(body) }); } catch (err) { $("exp-error").textContent = err.message; }
    refresh();
  }

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("api-key").value);
    start();
  });
  $("logout").addEventListener("click", () => { sessionStorage.removeItem(KEY); showLogin(); });
  $("start-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const share = Number($("b-share").value) || 50;
    act("/admin/experiments", {
      name: $("exp-name").value,
      ramp: (Number($("ramp").value) || 100) / 100,
      variants: [
        { name: $("a-name").value, bundle: $("a-bundle").value || null, weight: 100 - share },
        { name: $("b-name").value, bundle: $("b-bundle").value || null, weight: share },
      ],
    });
  });

  function start() {
    refresh();
    if (!timer) timer = setInterval(refresh, 3000);
  }
  if (key()) start(); else showLogin();
})();
