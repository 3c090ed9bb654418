/* The public URL's path prefix ("" at the root, "/hotline" behind a proxy): every request of these pages
   starts with it (the page's <body data-root>, see hotline/api/templates/page.html). */
const ROOT = document.body.dataset.root || "";
/* The signed-in account and its sign-out form (the CSRF token goes with the form; fetch() gets it from
   session.js). */
function csrfToken() {
  const m = document.cookie.match(/(?:^|;\s*)hotline_csrf=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : "";
}
function showAccount() {
  const field = document.querySelector("#account input[name=csrf_token]");
  if (field) field.value = csrfToken();
  fetch(ROOT + "/api/me", {cache: "no-store"}).then(r => r.ok ? r.json() : null).then(me => {
    if (me && document.getElementById("me")) document.getElementById("me").textContent = (me.person || me.username) + " · " + me.role;
  });
}

/* The dashboard's pages share this file: each page has some of the panels below; a loader runs only
   when its table is on the page. Live parts come over Server-Sent Events (/api/dashboard/stream);
   the other panels refresh slowly, never two requests of one panel at once. */
"use strict";

const OUTCOME = {answered: "已接通", abandoned: "放弃", timeout: "超时未接", busy: "忙",
  ivr_abandoned: "IVR挂机", failed: "失败"};
const DIRECTION = {inbound: "呼入", outbound: "呼出", internal: "内部"};
const STATE = {open: "待处理 open", acked: "已确认 acked", cleared: "已回访 cleared", resolved: "已关闭 resolved"};
const TIER = {first_line: "一线 First line", second_line: "二线 Second line", manager: "项目经理 Manager",
  vendor: "厂商 Vendor"};
const UNAVAILABLE = "不可用 / unavailable";
let NAMES = {};  // specialty code -> "网络 / Network", from the summary (the config's names)

function $(id) { return document.getElementById(id); }
function cell(v) { return v === null || v === undefined || v === "" ? "-" : v; }
function spec(code) { return code ? (NAMES[code] || code) : "-"; }
function dur(seconds) {  /* 192.4 -> 3分12秒, as the desk says it */
  if (seconds === null || seconds === undefined) return "-";
  const total = Math.max(0, Math.round(seconds)), h = Math.floor(total / 3600), m = Math.floor(total % 3600 / 60);
  if (h) return h + "小时" + m + "分";
  return m ? m + "分" + (total % 60) + "秒" : (total % 60) + "秒";
}
function pct(v) { return v === null || v === undefined ? "-" : (100 * v).toFixed(1) + "%"; }
function t(iso) { return iso ? iso.replace("T", " ").slice(0, 19) : "-"; }
function hm(iso) { return iso ? iso.replace("T", " ").slice(0, 16) : "-"; }
function yesNo(v) { return v ? {text: "是 yes", cls: "missed"} : {text: "否 no", cls: "met"}; }

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

async function getJSON(url) {
  const r = await fetch(url, {cache: "no-store"});
  if (!r.ok) throw new Error("HTTP " + r.status);
  return r.json();
}
const failed = new Set();
const busy = new Set();
const queued = new Map();  // panel -> its latest request asked for while it was loading
/* One failing panel never stops the others; a panel still loading is not asked twice at once: a request
   for a different URL meanwhile (the dates changed) is made when the first one is done, so the panel
   always ends up showing what was asked last. */
async function panel(name, url, render, tables) {
  if (busy.has(name)) { queued.set(name, [url, render, tables]); return null; }
  busy.add(name);
  try { return await load(name, url, render, tables); } finally {
    busy.delete(name);
    const next = queued.get(name);
    queued.delete(name);
    if (next && next[0] !== url) panel(name, ...next);
  }
}
async function load(name, url, render, tables) {
  const status = $(name + "-status");
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
  const from = $("from") ? $("from").value : "", to = $("to") ? $("to").value : "";
  if (from) p.set("from", from);
  if (to) p.set("to", to);
  const s = p.toString();
  return s ? "?" + s : "";
}
function updateExports() {
  if (!$("exports")) return;
  const by = $("by").value;
  $("export-rate-csv").href = ROOT + "/api/reports/answer-rate.csv" + rangeQuery({by});
  $("export-rate-xlsx").href = ROOT + "/api/reports/answer-rate.xlsx" + rangeQuery({by});
  $("export-calls-csv").href = ROOT + "/api/calls.csv" + rangeQuery();
}

/* ---- panels ---------------------------------------------------------------------------------- */

function loadWarnings() {
  return panel("warnings", ROOT + "/api/roster/warnings", data => {
    const box = $("warnings");
    box.innerHTML = "";
    const list = data.warnings || [];
    if (!list.length) return;
    const first = document.createElement("div");
    first.className = "warn";
    first.title = list.join("\n");
    if (list.length === 1) { first.textContent = "⚠ " + list[0]; box.appendChild(first); return; }
    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "⚠ " + list[0] + "（另 " + (list.length - 1) + " 条 / more）";
    details.appendChild(summary);
    for (const w of list.slice(1)) { const p = document.createElement("div"); p.textContent = w; details.appendChild(p); }
    first.appendChild(details);
    box.appendChild(first);
  });
}

function loadRates() {
  return panel("rates", ROOT + "/api/reports/answer-rate" + rangeQuery({by: "specialty"}), rate => {
    if ($("rates-span")) $("rates-span").textContent = rate.from === rate.to ? rate.from : rate.from + " – " + rate.to;
    fill("rates", [...rate.rows, rate.total].map(r => [
      r.group === "total" ? "合计 total" : spec(r.group), r.offered, r.answered, pct(r.answer_rate),
      (100 * r.target).toFixed(0) + "%",
      r.met === null ? "-" : (r.met ? {text: "是 yes", cls: "met"} : {text: "否 no", cls: "missed"}),
      r.abandoned, r.timeout, r.busy, r.ivr_abandoned, dur(r.avg_wait_seconds), dur(r.p90_wait_seconds)]));
  }, ["rates"]);
}

function loadLines() {  /* the hotline and the direct-dial duty line, each its own group */
  return panel("lines", ROOT + "/api/reports/answer-rate" + rangeQuery({by: "line"}), rate => {
    $("sl-seconds").textContent = rate.service_level_seconds;
    fill("lines", [...rate.rows, rate.total].map(r => [
      r.group === "total" ? "合计 total" : r.group, r.offered, r.answered, pct(r.answer_rate), pct(r.service_level),
      dur(r.asa_seconds), pct(r.abandon_rate), r.abandoned, r.short_abandoned]));
  }, ["lines"]);
}

function loadBreaches() {
  return panel("breaches", ROOT + "/api/reports/breaches" + rangeQuery(), data => {
    $("breach-count").textContent = data.count;
    const span = data.from === data.to ? data.from : data.from + " – " + data.to;
    $("breach-span").textContent =
      "次超时（" + span + "，15 分钟内未回访） / breaches (" + span + ", caller not reached within 15 minutes)";
    $("breach-count").className = "figure " + (data.count > 0 ? "missed" : "met");
    if ($("breaches")) fill("breaches", data.breaches.filter(b => b.kind === "missed_call").map(b => [
      b.caller, spec(b.specialty), t(b.opened_at), t(b.deadline_at), t(b.breached_at),
      STATE[b.state] || b.state, b.acked_by]));
  }, $("breaches") ? ["breaches"] : []);
}

// whom an alert paged; those a dry run only printed (nothing sent) marked: "王芳、杨磊（演练，未发送 dry run）"
function pagedText(u) {
  const dry = new Set(u.paged_dry_run || []);
  if (u.paged.length && u.paged.every(p => dry.has(p))) return u.paged.join("、") + "（演练，未发送 dry run）";
  return u.paged.map(p => dry.has(p) ? p + "（演练 dry run）" : p).join("、");
}

async function loadAlerts() {
  let paged = null;  // who was paged comes with the unreturned list; the alerts stay without it
  try {
    paged = {};
    for (const u of await getJSON(ROOT + "/api/alerts/unreturned")) paged[u.alert_id] = pagedText(u);
  } catch (e) { paged = null; }
  return panel("alerts", ROOT + "/api/alerts?state=open", alerts => {
    fill("alerts", alerts.map(a => [
      a.caller ? (a.caller_name ? a.caller + " (" + a.caller_name + ")" : a.caller) : (a.title || a.alert_id),
      t(a.opened_at), spec(a.specialty), STATE[a.state] || a.state,
      paged === null ? UNAVAILABLE : (paged[a.alert_id] || ""),
      a.acked_by ? a.acked_by + " " + hm(a.acked_at) : null, t(a.deadline_at),
      a.breached_at ? {text: "已超时 breached " + hm(a.breached_at), cls: "missed"} : {text: "未超时 no", cls: "met"}]));
  }, ["alerts"]);
}

function loadUnreturned() {
  return panel("unreturned", ROOT + "/api/alerts/unreturned", rows => {
    fill("unreturned", rows.map(u => [u.caller, u.caller_name, spec(u.specialty), t(u.first_missed_at),
      t(u.last_missed_at), u.missed_calls, pagedText(u), u.acked_by, t(u.deadline_at), yesNo(u.breached)]));
  }, ["unreturned"]);
}

function loadReturned() {
  return panel("returned", ROOT + "/api/reports/returned" + rangeQuery(), rows => {
    const mins = rows.map(r => r.returned_within_minutes);
    const within = mins.filter(m => m <= 15).length;
    const avg = mins.length ? dur(60 * mins.reduce((a, b) => a + b, 0) / mins.length) : "-";
    fill("returned", [[rows.length, within, rows.length ? (100 * within / rows.length).toFixed(1) + "%" : "-", avg,
      mins.length ? dur(60 * Math.max(...mins)) : "-", rows.filter(r => r.breached).length,
      rows.filter(r => r.how === "callback").length, rows.filter(r => r.how === "repeat").length]]);
  }, ["returned"]);
}

function loadDuty() {
  return panel("duty", ROOT + "/api/roster/on-duty", data => {
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
  return panel("gaps", ROOT + "/api/roster/gaps", data => {
    const rows = data.gaps.map(g => [TIER[g.tier] || g.tier, hm(g.start), hm(g.end), g.holiday ? "是 yes" : "否 no", g.text]);
    if (!rows.length) rows.push([{text: "无空档 no gaps (" + data.from + " – " + data.to + ")", cls: "met"}, "", "", "", ""]);
    fill("gaps", rows);
  }, ["gaps"]);
}

/* ---- live: tiles, charts, calls ------------------------------------------------------------------ */

function renderSummary(s) {
  NAMES = Object.assign(NAMES, s.specialty_names || {});
  if (!$("tiles")) return;
  const rates = $("tile-rates");
  rates.innerHTML = "";
  for (const r of s.answer_rate.rows) {
    const line = document.createElement("div");
    line.className = "rate-line";
    line.dataset.group = r.group;
    const name = document.createElement("span"); name.textContent = r.name;
    const value = document.createElement("span");
    value.textContent = pct(r.answer_rate) + " (" + r.answered + "/" + r.offered + ")";
    value.className = r.met === null ? "" : (r.met ? "met" : "missed");
    line.append(name, value);
    rates.appendChild(line);
  }
  const total = s.answer_rate.total;
  $("tile-rate-total").textContent = pct(total.answer_rate);
  $("tile-rate-total").className = "big " + (total.met === null ? "" : (total.met ? "met" : "missed"));
  $("tile-rate-target").textContent = "目标 target " + (100 * s.target).toFixed(0) + "%";
  $("tile-waiting").textContent = s.waiting.count;
  $("tile-longest").textContent = "最长等待 longest " + (s.waiting.count ? s.waiting.longest_text : "-");
  $("tile-alerts").textContent = s.alerts.open;
  $("tile-oldest").textContent = "最久 oldest " + (s.alerts.open ? s.alerts.oldest_age_text : "-");
  $("tile-breaches").textContent = s.breaches_today;
  $("tile-breaches").className = "big " + (s.breaches_today ? "missed" : "met");
  const c = s.complaints;  // never a share without its sample size
  $("tile-complaints").textContent = c ? c.count : UNAVAILABLE;
  // in time of those whose deadline has come; the ones not due yet (未到期) beside, never counted late
  const pending = c && c.replied_in_time.pending ? ` · 未到期 pending ${c.replied_in_time.pending}` : "";
  $("tile-complaints-sub").textContent = c ? `1 小时内回复 replied in time ${c.replied_in_time.count} / ` +
    `${c.replied_in_time.of}${pending} · 上报项目经理 escalated ${c.escalated.count} / ${c.count}` : "";
  const duty = $("tile-duty");
  duty.innerHTML = "";
  if (s.on_duty === null) duty.textContent = UNAVAILABLE;
  else for (const tier of ["first_line", "second_line", "manager"]) {
    const line = document.createElement("div");
    const names = s.on_duty[tier] || [];
    line.textContent = TIER[tier].split(" ")[0] + "：" + (names.length ? names.join("、") : "无人 nobody");
    if (!names.length) line.className = "missed";
    duty.appendChild(line);
  }
  bars("chart-hours", s.by_hour.map(h => [h.hour.slice(0, 2), h.answer_rate, h.offered]), s.target);
  bars("chart-days", s.by_day.map(d => [d.day.slice(8), d.answer_rate, d.offered]), s.target);
  bars("chart-specialties", s.answer_rate.rows.map(r => [r.name.split(" / ")[0], r.answer_rate, r.offered]), s.target);
  $("status").textContent = "更新于 updated " + s.at.slice(11, 19);
}

function bars(id, points, target) {
  const box = $(id);
  if (!box) return;
  box.innerHTML = "";
  const bars = document.createElement("div"); bars.className = "bars";
  const axis = document.createElement("div"); axis.className = "axis";
  const line = document.createElement("div"); line.className = "target"; line.style.bottom = (100 * target) + "%";
  bars.appendChild(line);
  for (const [label, rate, offered] of points) {
    const bar = document.createElement("div");
    bar.className = "bar" + (rate !== null && rate < target ? " low" : "");
    bar.style.height = (rate === null ? 0 : 100 * rate) + "%";
    bar.title = label + ": " + pct(rate) + " (" + offered + ")";
    bars.appendChild(bar);
    const a = document.createElement("span"); a.textContent = label; axis.appendChild(a);
  }
  if (!points.length) { bars.textContent = "暂无数据 / no calls yet"; }
  box.append(bars, axis);
}

function callRow(c) {
  return [t(c.started_at), DIRECTION[c.direction] || c.direction, c.caller, spec(c.specialty),
    c.outcome ? (OUTCOME[c.outcome] || c.outcome) : "进行中", c.answered_by, dur(c.wait_seconds), dur(c.talk_seconds)];
}
function renderCalls(data) {
  if ($("calls")) fill("calls", data.recent.map(callRow));
  if ($("open")) fill("open", data.open.map(c => [t(c.started_at), c.caller, c.called, spec(c.specialty)]));
  if ($("calls-count")) $("calls-count").textContent = data.recent.length;
}

function live(url) {
  const source = new EventSource(url);
  source.addEventListener("summary", e => renderSummary(JSON.parse(e.data)));
  source.addEventListener("calls", e => renderCalls(JSON.parse(e.data)));
  source.onerror = () => { if ($("status")) $("status").textContent = "连接中断，正在重连 / reconnecting…"; };
  return source;
}

/* ---- start a page ------------------------------------------------------------------------------- */

function refreshStatus() {
  if (!$("status") || !failed.size) return;
  $("status").textContent = failed.size + " 个面板不可用 panels unavailable: " + [...failed].join(", ");
}

async function startPage(options) {
  try { renderSummary(await getJSON(ROOT + "/api/dashboard/summary")); } catch (e) { /* names stay codes */ }
  const slow = () => Promise.all((options.slow || []).map(f => f())).then(refreshStatus);
  const fast = () => Promise.all((options.fast || []).map(f => f())).then(refreshStatus);
  for (const id of ["from", "to", "by"]) {
    if ($(id)) $(id).addEventListener("change", () => { updateExports(); fast(); });
  }
  updateExports();
  loadWarnings();
  fast(); slow();
  if (options.live) live(ROOT + "/api/dashboard/stream");
  if ((options.fast || []).length) setInterval(fast, options.fastEvery || 10000);
  if ((options.slow || []).length) setInterval(slow, 60000);
}


/* Each page says which it is (<body data-page>): no inline script under the Content-Security-Policy. */
function monthLinks() {
  const m = document.getElementById("month").value;
  for (const f of ["html", "pdf", "xlsx", "json"]) document.getElementById("monthly-" + f).href = m ? ROOT + "/api/reports/monthly/" + m + "." + f : "#";
}
const PAGE_SETUP = {
  overview: () => startPage({live: true, fast: [loadRates], fastEvery: 30000}),
  alerts: () => startPage({fast: [loadAlerts, loadUnreturned, loadBreaches], slow: [loadReturned]}),
  calls: () => startPage({live: true}),
  duty: () => startPage({slow: [loadDuty, loadGaps]}),
  reports: () => {
    document.getElementById("month").addEventListener("change", monthLinks);
    startPage({fast: [loadRates, loadLines, loadBreaches], fastEvery: 30000});
  },
};
showAccount();
if (PAGE_SETUP[document.body.dataset.page]) PAGE_SETUP[document.body.dataset.page]();
