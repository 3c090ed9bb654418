"use strict";
function dur(s) {
  if (s === null || s === undefined) return "-";
  const n = Math.max(0, Math.round(s)), h = Math.floor(n / 3600), m = Math.floor(n % 3600 / 60);
  return h ? h + "小时" + m + "分" : (m ? m + "分" + (n % 60) + "秒" : (n % 60) + "秒");
}
function pct(v) { return v === null || v === undefined ? "-" : (100 * v).toFixed(1) + "%"; }
function set(id, text, cls) { const e = document.getElementById(id); e.textContent = text; if (cls !== undefined) e.className = cls; }
function render(s) {
  set("clock", "更新于 " + s.at.slice(11, 19));
  set("wall-waiting", s.waiting.count, "value " + (s.waiting.count ? "bad" : "good"));
  set("wall-longest", s.waiting.count ? "最长等待 " + s.waiting.longest_text : "无人等待 nobody waiting");
  const total = s.answer_rate.total;
  set("wall-rate", pct(total.answer_rate), "value " + (total.met === null ? "" : (total.met ? "good" : "bad")));
  const rates = document.getElementById("wall-rates");
  rates.innerHTML = "";
  for (const r of s.answer_rate.rows) {
    const d = document.createElement("div");
    const a = document.createElement("span"); a.textContent = r.name.split(" / ")[0];
    const b = document.createElement("span"); b.textContent = pct(r.answer_rate);
    b.className = r.met === null ? "" : (r.met ? "good" : "bad");
    d.append(a, b); rates.appendChild(d);
  }
  set("wall-alerts", s.alerts.open, "value " + (s.alerts.open ? "bad" : "good"));
  set("wall-breaches", "今日超时 breaches today: " + s.breaches_today +
      (s.alerts.open ? " · 最久 oldest " + s.alerts.oldest_age_text : ""));
  const duty = document.getElementById("wall-duty");
  duty.innerHTML = "";
  const tiers = {first_line: "一线", second_line: "二线", manager: "经理"};
  for (const [tier, label] of Object.entries(tiers)) {
    const names = s.on_duty ? (s.on_duty[tier] || []) : [];
    const d = document.createElement("div");
    const a = document.createElement("span"); a.textContent = label;
    const b = document.createElement("span"); b.textContent = names.length ? names.join("、") : "无人";
    if (!names.length) b.className = "bad";
    d.append(a, b); duty.appendChild(d);
  }
}
const token = new URLSearchParams(location.search).get("token");
const root = document.body.dataset.root || "";  // the public URL's path prefix (behind a proxy)
const source = new EventSource(root + "/api/wall/stream" + (token ? "?token=" + encodeURIComponent(token) : ""));
source.addEventListener("summary", e => render(JSON.parse(e.data)));
source.onerror = () => set("clock", "连接中断，正在重连 / reconnecting…");
