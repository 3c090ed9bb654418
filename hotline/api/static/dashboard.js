/* The signed-in account, and the CSRF token every state-changing request carries (header or form field). */
function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)hotline_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : "";
}
document.querySelector("#account input[name=csrf_token]").value = csrfToken();
fetch("/api/me", {cache: "no-store"}).then(r => r.ok ? r.json() : null).then(me => {
  if (me) document.getElementById("me").textContent = (me.person || me.username) + " · " + me.role;
});

const OUTCOME = {answered: "已接通 answered", abandoned: "放弃 abandoned", timeout: "超时 timeout",
  busy: "忙 busy", ivr_abandoned: "IVR挂机 IVR hang-up", failed: "失败 failed", dropped: "PBX中断 dropped by the PBX"};
const STATE = {open: "待处理 open", acked: "已确认 acked", cleared: "已回访 cleared", resolved: "已关闭 resolved"};
const TIER = {first_line: "一线 First line", second_line: "二线 Second line", manager: "项目经理 Manager",
  vendor: "厂商 Vendor"};
const UNAVAILABLE = "不可用 / unavailable";

function cell(v) { return v === null || v === undefined || v === "" ? "-" : v; }
function fill(id, rows) {
  const body = document.querySelector("#" + id + " tbody");
  const heads = document.querySelectorAll("#" + id + " thead th");
  body.innerHTML = "";
  for (const r of rows) {
    const tr = document.createElement("tr");
    for (const [i, c] of r.entries()) {
      const td = document.createElement("td");
      const align = heads[i] && heads[i].classList.contains("text") ? "text " : "";
      if (c && typeof c === "object") { td.textContent = c.text; td.className = align + (c.cls || ""); }
      else { td.textContent = cell(c); td.className = align.trim(); }
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}
function t(iso) { return iso ? iso.replace("T", " ").slice(0, 19) : "-"; }
function hm(iso) { return iso ? iso.replace("T", " ").slice(0, 16) : "-"; }
function yesNo(v) { return v ? {text: "是 yes", cls: "missed"} : {text: "否 no", cls: "met"}; }

/* One failing panel never stops the others: each loads on its own and says when it is unavailable. */
async function getJSON(url) {
  const r = await fetch(url, {cache: "no-store"});
  if (!r.ok) throw new Error("HTTP " + r.status);
  return r.json();
}
const failed = new Set();
async function panel(name, url, render, tables) {
  const status = document.getElementById(name + "-status");
  try {
    const data = await getJSON(url);
    render(data);
    failed.delete(name);
    if (status) { status.textContent = ""; status.className = "panel-status"; }
    return data;
  } catch (e) {
    failed.add(name);
    for (const id of tables || []) fill(id, []);
    if (status) { status.textContent = UNAVAILABLE + " (" + e.message + ")"; status.className = "panel-status unavailable"; }
    return null;
  }
}

function rangeQuery(extra) {
  const p = new URLSearchParams(extra || {});
  const from = document.getElementById("from").value, to = document.getElementById("to").value;
  if (from) p.set("from", from);
  if (to) p.set("to", to);
  const s = p.toString();
  return s ? "?" + s : "";
}
function updateExports() {
  const by = document.getElementById("by").value;
  document.getElementById("export-rate-csv").href = "/api/reports/answer-rate.csv" + rangeQuery({by});
  document.getElementById("export-rate-xlsx").href = "/api/reports/answer-rate.xlsx" + rangeQuery({by});
  document.getElementById("export-calls-csv").href = "/api/calls.csv" + rangeQuery();
}

function loadWarnings() {
  return panel("warnings", "/api/roster/warnings", data => {
    const box = document.getElementById("warnings");
    box.innerHTML = "";
    for (const w of data.warnings || []) {
      const div = document.createElement("div");
      div.className = "warn";
      div.textContent = "⚠ " + w;
      box.appendChild(div);
    }
  });
}

function loadRates() {
  return panel("rates", "/api/reports/answer-rate" + rangeQuery({by: "specialty"}), rate => {
    fill("rates", [...rate.rows, rate.total].map(r => [
      r.group === "total" ? "合计 total" : r.group, r.offered, r.answered,
      r.answer_rate === null ? "-" : (100 * r.answer_rate).toFixed(1) + "%",
      (100 * r.target).toFixed(0) + "%",
      r.met === null ? "-" : (r.met ? {text: "是 yes", cls: "met"} : {text: "否 no", cls: "missed"}),
      r.abandoned, r.timeout, r.busy, r.ivr_abandoned, cell(r.avg_wait_seconds), cell(r.p90_wait_seconds)]));
  }, ["rates"]);
}

function loadBreaches() {
  return panel("breaches", "/api/reports/breaches" + rangeQuery(), data => {
    document.getElementById("breach-count").textContent = data.count;
    const span = data.from === data.to ? data.from : data.from + " – " + data.to;
    document.getElementById("breach-span").textContent =
      "次超时（" + span + "，15 分钟内未回访） / breaches (" + span + ", caller not reached within 15 minutes)";
    document.getElementById("breach-count").className = "figure " + (data.count > 0 ? "missed" : "met");
    fill("breaches", data.breaches.filter(b => b.kind === "missed_call").map(b => [
      b.caller, b.specialty, t(b.opened_at), t(b.deadline_at), t(b.breached_at),
      STATE[b.state] || b.state, b.acked_by]));
  }, ["breaches"]);
}

async function loadAlerts() {
  let paged = null;  // who was paged comes with the unreturned list; the alerts stay without it
  try {
    paged = {};
    for (const u of await getJSON("/api/alerts/unreturned")) paged[u.alert_id] = u.paged;
  } catch (e) { paged = null; }
  return panel("alerts", "/api/alerts?state=open", alerts => {
    fill("alerts", alerts.map(a => [
      a.caller ? (a.caller_name ? a.caller + " (" + a.caller_name + ")" : a.caller) : (a.title || a.alert_id),
      t(a.opened_at), a.specialty, STATE[a.state] || a.state,
      paged === null ? UNAVAILABLE : (paged[a.alert_id] || []).join("、"),
      a.acked_by ? a.acked_by + " " + hm(a.acked_at) : null, t(a.deadline_at),
      a.breached_at ? {text: "已超时 breached " + hm(a.breached_at), cls: "missed"} : {text: "未超时 no", cls: "met"}]));
  }, ["alerts"]);
}

function loadUnreturned() {
  return panel("unreturned", "/api/alerts/unreturned", rows => {
    fill("unreturned", rows.map(u => [u.caller, u.caller_name, u.specialty, t(u.first_missed_at),
      t(u.last_missed_at), u.missed_calls, u.paged.join("、"), u.acked_by, t(u.deadline_at), yesNo(u.breached)]));
  }, ["unreturned"]);
}

function loadReturned() {
  return panel("returned", "/api/reports/returned", rows => {
    const mins = rows.map(r => r.returned_within_minutes);
    const within = mins.filter(m => m <= 15).length;
    const avg = mins.length ? (mins.reduce((a, b) => a + b, 0) / mins.length).toFixed(1) : "-";
    fill("returned", [[rows.length, within,
      rows.length ? (100 * within / rows.length).toFixed(1) + "%" : "-", avg,
      mins.length ? Math.max(...mins).toFixed(1) : "-", rows.filter(r => r.breached).length,
      rows.filter(r => r.how === "callback").length, rows.filter(r => r.how === "repeat").length]]);
  }, ["returned"]);
}

function loadDuty() {
  return panel("duty", "/api/roster/on-duty", data => {
    const rows = [];
    for (const [tier, people] of Object.entries(data.tiers)) {
      if (!people.length) {
        if (tier !== "vendor") rows.push([TIER[tier] || tier, {text: "无人值班 nobody", cls: "missed"}, "", "", ""]);
        continue;
      }
      for (const p of people) rows.push([TIER[tier] || tier, p.name, p.mobile, p.extension, hm(p.until)]);
    }
    fill("duty", rows);
  }, ["duty"]);
}

function loadGaps() {
  return panel("gaps", "/api/roster/gaps", data => {
    const rows = data.gaps.map(g => [TIER[g.tier] || g.tier, hm(g.start), hm(g.end),
      g.holiday ? "是 yes" : "否 no", g.text]);
    if (!rows.length) rows.push([{text: "无空档 no gaps (" + data.from + " – " + data.to + ")", cls: "met"}, "", "", "", ""]);
    fill("gaps", rows);
  }, ["gaps"]);
}

function loadOpenCalls() {
  return panel("open", "/api/calls/open", open => {
    fill("open", open.map(c => [t(c.started_at), c.caller, c.called, c.queue]));
  }, ["open"]);
}

function loadCalls() {
  return panel("calls", "/api/calls?limit=50", calls => {
    fill("calls", calls.map(c => [t(c.started_at), c.direction, c.caller, c.queue,
      OUTCOME[c.outcome] || "进行中 in progress", c.answered_by, c.wait_seconds, c.talk_seconds]));
  }, ["calls"]);
}

async function refresh() {
  const results = await Promise.all([loadRates(), loadCalls(), loadOpenCalls(), loadAlerts(),
    loadUnreturned(), loadBreaches()]);
  const calls = results[1];
  const health = await getJSON("/healthz").catch(() => null);  // the server's clock: one clock in the demo
  let text = "更新于 updated " + (health ? t(health.now).slice(11) : new Date().toLocaleTimeString("zh-CN"));
  if (calls) text += " · " + calls.length + " 通 calls";
  if (failed.size) text += " · " + failed.size + " 个面板不可用 panels unavailable: " + [...failed].join(", ");
  document.getElementById("status").textContent = text;
}
function refreshSlow() { return Promise.all([loadWarnings(), loadDuty(), loadGaps(), loadReturned()]); }

for (const id of ["from", "to", "by"]) {
  document.getElementById(id).addEventListener("change", () => { updateExports(); refresh(); });
}
updateExports();
refresh();
refreshSlow();
setInterval(refresh, 2000);
setInterval(refreshSlow, 30000);
