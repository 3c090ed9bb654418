// Every URL starts with the page's path prefix (body data-root), so that the page works behind a proxy.
const ROOT = document.body.dataset.root || "";
const $ = (id) => document.getElementById(id);
const STATUS = {new: "新建", in_progress: "处理中", escalated: "已升级", resolved: "已解决", closed: "已关闭"};
const TIER = {first_line: "一线", second_line: "二线", vendor: "厂商"};
const CLOCK = {response: "首次响应", repair_start: "开始修复", resolution: "解决", complaint: "投诉回复",
               complaint_solved: "投诉解决", major: "重大故障上报"};
const ARTICLE = {draft: "草稿 draft", published: "已发布 published"};
const TYPE = {incident: "故障", request: "服务请求", question: "咨询", complaint: "投诉"};
const PRIORITY = {normal: "一般", important: "重要", urgent: "紧急"};
const COMPLAINT_SOURCE = {ivr: "语音菜单", call: "来电标记", hand: "人工登记", survey: "回访低分"};
const NAMED = {status: STATUS, tier: TIER, ticket_type: TYPE, priority: PRIORITY,
               complaint_source: COMPLAINT_SOURCE};
const ACTION = {open: "受理", link: "关联", assign: "指派", status: "状态", escalate: "升级", edit: "修改",
                resolve: "解决", close: "关闭", reopen: "重开", page: "通知", sla: "时限", complaint: "投诉",
                reply: "回复", form: "反馈表", transfer: "转接", incident: "重大故障", report: "上报", kb: "知识库",
                survey: "回访"};
const SPECIALTY = JSON.parse(document.body.dataset.specialties || "{}");  // code -> "网络 / Network", from the config
let current = null;

// "2026-12-04T21:53:18.27+08:00" (desk time, from the server) -> "12-04 21:53"
function when(iso) { return iso ? iso.slice(5, 16).replace("T", " ") : "-"; }
function specialty(code) { return code ? (SPECIALTY[code] || code) : "-"; }
function named(field, value) {
  if (!value) return "-";
  if (field.endsWith("_at")) return when(value);  // a time: desk time, short
  const names = NAMED[field];
  return names && names[value] ? `${names[value]} ${value}` : value;
}
// one timeline line's change: "tier: 一线 first_line → 二线 second_line", "开始修复 repair_start missed"
function changeText(c) {
  if (!c.field) return "";
  if (!c.old && !c.new) {
    const clock = c.field.split(" ")[0];
    return CLOCK[clock] ? `${CLOCK[clock]} ${c.field}` : c.field;
  }
  return `${c.field}: ${named(c.field, c.old)} → ${named(c.field, c.new)}`;
}

function td(text) { const c = document.createElement("td"); c.textContent = text ?? "-"; return c; }
function li(text) { const e = document.createElement("li"); e.textContent = text; return e; }
function me() { return $("me").value.trim() || "dashboard"; }

async function call(method, url, body) {
  $("error").textContent = "";
  const r = await fetch(url, {method, headers: {"Content-Type": "application/json"},
                              body: body ? JSON.stringify(body) : undefined});
  const data = await r.json();
  if (!r.ok) { $("error").textContent = (data.detail && data.detail.toString()) || r.statusText; throw data; }
  return data;
}

async function loadList() {
  const q = new URLSearchParams({state: $("state").value});
  const scope = $("scope").value;
  if (scope === "mine") q.set("assignee", me());
  else if (scope !== "all") q.set("tier", scope);
  const tickets = await call("GET", ROOT + "/api/tickets?" + q);
  const body = $("tickets").querySelector("tbody");
  body.replaceChildren(...tickets.map((t) => {
    const tr = document.createElement("tr");
    tr.className = "pick" + (t.overdue ? " overdue" : "");
    tr.dataset.id = t.ticket_id;
    tr.append(td(t.ticket_id), td(`${STATUS[t.status]} ${t.status}`), td(TIER[t.tier]), td(t.assignee),
              td(t.caller), td(specialty(t.specialty)), td(t.summary), td(t.overdue ? "是 yes" : "-"));
    tr.onclick = () => show(t.ticket_id);
    return tr;
  }));
}

function render(t) {
  current = t.ticket_id;
  $("ticket").classList.remove("hidden");
  $("t-id").textContent = t.ticket_id;
  $("t-state").textContent = `${STATUS[t.status]} ${t.status} · ${TIER[t.tier]} ${t.tier}`;
  $("t-caller").textContent = t.caller + (t.caller_name ? ` (${t.caller_name})` : "");
  $("t-first").textContent = when(t.first_contact_at);
  $("t-assignee").textContent = t.assignee || "-";
  $("t-solution").textContent = t.solution || "-";
  $("f-summary").value = t.summary || "";
  $("f-type").value = t.ticket_type; $("f-priority").value = t.priority;
  $("t-calls").replaceChildren(...t.call_details.map((c) => li(`${when(c.started_at)} ${c.call_id} ${c.role} ${c.staff || ""}`)));
  $("t-clocks").replaceChildren(...t.clocks.map((c) => li(
    `${CLOCK[c.clock] || ""} ${c.clock}: 期限 due ${when(c.due_at)} · ` +
    `${c.met === null ? "进行中 running" : (c.met ? "达标 met" : "超时 missed")}`)));
  $("t-timeline").replaceChildren(...(t.timeline || []).map((c) => li(
    `${when(c.at)} ${c.actor} ${ACTION[c.action] || ""} ${c.action} ${changeText(c)} ${c.note || ""}`)));
  if (window.renderComplaint) window.renderComplaint(t);
}

async function show(id) {
  render(await call("GET", ROOT + `/api/tickets/${id}`));
  const suggested = await call("GET", ROOT + `/api/tickets/${id}/suggestions`);
  $("t-suggest").replaceChildren(...suggested.map((a) => li(`[${a.article_id}] ${a.title}`)));
  if (window.showSurvey) await window.showSurvey(id);  // surveys.js: the ticket's satisfaction survey
}

async function act(path, body) {
  render(await call("POST", ROOT + `/api/tickets/${current}/${path}`, {by: me(), ...body}));
  await loadList();
}

async function searchKb() {
  const q = new URLSearchParams({q: $("kb-q").value, drafts: $("kb-drafts").checked});
  const found = await call("GET", ROOT + "/api/kb?" + q);
  $("kb").querySelector("tbody").replaceChildren(...found.map((a) => {
    const tr = document.createElement("tr");
    tr.dataset.id = a.article_id;
    tr.append(td(`[${a.article_id}] ${a.title}`), td(ARTICLE[a.status] || a.status), td(specialty(a.specialty)),
              td(a.solution));
    const cell = document.createElement("td");
    if (a.status !== "published") {
      const b = document.createElement("button");
      b.textContent = "发布 / publish"; b.className = "publish";
      b.onclick = async () => { await call("POST", ROOT + `/api/kb/${a.article_id}/publish`, {by: me()}); await searchKb(); };
      cell.append(b);
    }
    tr.append(cell);
    return tr;
  }));
}

async function screenPop(number) {
  const pop = await call("GET", ROOT + "/api/tickets/screen-pop?" + new URLSearchParams({number}));
  const t = pop.open_ticket;
  $("pop-result").textContent = (pop.caller && pop.caller.name ? pop.caller.name + " · " : "") +
    (t ? `未关闭工单 open ticket ${t.ticket_id} (${STATUS[t.status]}, ${t.assignee || "-"})` : "无未关闭工单 no open ticket") +
    ` · 历史工单 ${pop.history.length} tickets`;
  if (t) render(t);
}

let popped = null;
async function watchCalls() {  // when my extension answers (or calls back), the caller's ticket pops up
  const ext = $("ext").value.trim();
  if (!ext) return;
  const open = await (await fetch(ROOT + "/api/calls/open")).json();
  const mine = open.find((c) => c.answered_at && (c.answered_by === ext || (c.direction === "outbound" && c.caller === ext)));
  if (mine && mine.call_id !== popped) {
    popped = mine.call_id;
    await screenPop(mine.direction === "outbound" ? mine.called : mine.caller);
  }
}

$("reload").onclick = loadList;
$("state").onchange = loadList; $("scope").onchange = loadList;
$("pop-go").onclick = () => screenPop($("pop-number").value);
$("save").onclick = async () => {
  render(await call("PATCH", ROOT + `/api/tickets/${current}`, {by: me(), summary: $("f-summary").value,
                                                         ticket_type: $("f-type").value, priority: $("f-priority").value}));
  await loadList();
};
$("escalate").onclick = () => act("escalate", {reason: $("f-reason").value});
$("resolve").onclick = () => act("resolve", {solution: $("f-solution").value, cause: $("f-cause").value || null});
$("close").onclick = () => act("close", {});
$("reopen").onclick = () => act("reopen", {reason: $("f-reopen").value});
$("draft").onclick = async () => {
  const a = await call("POST", ROOT + `/api/tickets/${current}/kb-draft`, {by: me()});
  $("kb-q").value = a.title; $("kb-drafts").checked = true; await searchKb();
};
$("kb-go").onclick = searchKb;
// "I am" (the "mine" filter) starts as the signed-in person; the server records them as who acts anyway
fetch(ROOT + "/api/me").then((r) => (r.ok ? r.json() : null)).then((who) => {
  if (who && who.person && !$("me").value) { $("me").value = who.person; if ($("scope").value === "mine") loadList(); }
});
loadList();
setInterval(watchCalls, 2000);
