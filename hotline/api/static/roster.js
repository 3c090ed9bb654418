// Every URL starts with the page's path prefix (body data-root), so that the page works behind a proxy.
const ROOT = document.body.dataset.root || "";
document.getElementById("override-form").addEventListener("submit", e => e.preventDefault());
const TIERS = [["first_line", "一线 First line"], ["second_line", "二线 Second line"], ["manager", "项目经理 Manager"],
               ["vendor", "厂商 Vendor"]];
const LAYERS = {rotation: "轮班 rotation", dated: "值班表 table", override: "调班 override"};
const $ = id => document.getElementById(id);
let previewed = null;
let approval = false;
let clicked = null;  // the last shift clicked in the grid: {tier, spec: "NAME@TIME"}
let swapTier = null;

async function swap() {
  const r = await fetch(ROOT + "/api/roster/swaps", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({tier: swapTier, first: $("s-first").value, second: $("s-second").value,
                          reason: $("s-reason").value, actor: $("actor").value})});
  const data = await r.json();
  const box = $("swap-result");
  if (!r.ok) { text(box, data.detail).className = "error"; return; }
  if (data.request) { text(box, `已提交申请 / requested #${data.request}`).className = "ok"; await loadRequests(); return; }
  text(box, `已换班 / swapped #${data.ids.join(", #")}`).className = "ok";
  const undo = text(document.createElement("button"), `撤销 Undo #${data.ids[0]}`); undo.id = "swap-undo";
  undo.onclick = async () => {
    const u = await fetch(ROOT + `/api/roster/overrides/${data.ids[0]}`, {method: "DELETE"});
    const res = await u.json();
    text(box, u.ok ? `已撤销 / undone #${res.removed.join(", #")}` : res.detail).className = u.ok ? "ok" : "error";
    await load();
  };
  box.append(" ", undo);
  await load();
}
let managers = [];
let signedIn = null;  // the signed-in person: the server records them as the actor, so the page acts as them
let editor = true;  // supervisors and admins edit the roster; staff ask for changes (requests)
// a change is a request a manager approves: always for staff, for non-managers when approval is on
const asksOnly = () => !editor || (approval && !managers.includes($("actor").value));

async function whoAmI() {
  const r = await fetch(ROOT + "/api/me");
  if (!r.ok) return;
  const me = await r.json();
  if (me.person) { signedIn = me.person; $("actor").disabled = true; }
  editor = me.role === "supervisor" || me.role === "admin";
}

async function loadRequests() {
  const r = await fetch(ROOT + "/api/roster/requests");
  if (!r.ok) return;
  const data = await r.json(); managers = data.managers;
  text($("approval-mode"), data.approval ? "（调班需经理审批 / overrides need a manager's approval）" : "");
  approval = data.approval;
  $("save-btn").textContent = asksOnly() ? "申请 Request" : "保存 Save";
  $("requests").tBodies[0].replaceChildren(...data.requests.map(q => {
    const tr = document.createElement("tr"); tr.dataset.id = q.id;
    for (const v of [`#${q.id}`, q.requested_by, q.overrides.join("；"), q.reason])
      tr.append(text(document.createElement("td"), v));
    const td = document.createElement("td");
    for (const [what, label] of [["approve", "批准 Approve"], ["reject", "拒绝 Reject"]]) {
      const b = text(document.createElement("button"), label); b.className = what;
      b.onclick = async () => {
        const res = await fetch(ROOT + `/api/roster/requests/${q.id}/${what}?actor=${encodeURIComponent($("actor").value)}`,
                                {method: "POST"});
        const body = await res.json();
        text($("preview"), res.ok ? `#${q.id}: ${body.state}` : body.detail).className = res.ok ? "ok" : "error";
        await load();
      };
      td.append(b);
    }
    tr.append(td); return tr;
  }));
}

function iso(d) { return d.toISOString().slice(0, 10); }
function addDays(text, n) { const d = new Date(text + "T00:00:00Z"); d.setUTCDate(d.getUTCDate() + n); return iso(d); }
function hm(text) { return text.slice(11, 16); }
function span() {
  const start = $("start").value;
  if ($("view").value === "week") return [start, addDays(start, 6)];
  const first = start.slice(0, 8) + "01";
  const next = addDays(first, 32).slice(0, 8) + "01";
  return [first, addDays(next, -1)];
}
function text(el, value) { el.textContent = value; return el; }

async function load() {
  const [from, to] = span();
  const r = await fetch(ROOT + `/api/roster/shifts?from=${from}&to=${to}`);
  if (!r.ok) { text($("status"), `不可用 / unavailable (HTTP ${r.status})`).className = "error"; return; }
  const data = await r.json();
  $("warnings").replaceChildren(...data.warnings.map(w => { const d = text(document.createElement("div"), w);
                                                            d.className = "warn"; return d; }));
  approval = data.approval;
  for (const sel of [$("o-replace"), $("o-by"), $("actor")]) {
    const chosen = sel.value; const keep = sel.options[0]; sel.replaceChildren(keep);
    for (const p of data.people) { const o = document.createElement("option"); o.value = p; o.textContent = p; sel.append(o); }
    if (sel.id === "actor") {
      if (signedIn && !data.people.includes(signedIn)) {
        const o = document.createElement("option"); o.value = signedIn; o.textContent = signedIn; sel.append(o);
      }
      sel.value = signedIn || chosen;
    }
  }
  await loadRequests();
  const days = []; for (let d = from; d <= to; d = addDays(d, 1)) days.push(d);
  const head = document.createElement("tr");
  head.append(text(document.createElement("th"), "班组 Tier"));
  for (const d of days) { const th = text(document.createElement("th"), d.slice(5)); th.dataset.day = d; head.append(th); }
  $("grid").tHead.replaceChildren(head);
  const rows = [];
  for (const [tier, label] of TIERS) {
    const tr = document.createElement("tr"); tr.dataset.tier = tier;
    tr.append(text(document.createElement("th"), label));
    for (const d of days) {
      const td = document.createElement("td"); td.className = "day"; td.dataset.day = d;
      for (const s of data.shifts.filter(s => s.tier === tier && s.start.slice(0, 10) === d)) {
        const span = text(document.createElement("span"), `${hm(s.start)}–${hm(s.end)} ${s.person}`);
        span.className = `shift layer-${s.layer}`;
        span.title = `${s.label} ${LAYERS[s.layer]}`;
        span.dataset.person = s.person; span.dataset.layer = s.layer;
        span.onclick = () => { clicked = {tier, spec: `${s.person}@${s.start.slice(0, 16)}`}; $("tier").value = tier; $("o-from").value = s.start.slice(0, 16);
                               $("o-to").value = s.end.slice(0, 16); $("o-replace").value = s.person; };
        td.append(span);
      }
      tr.append(td);
    }
    rows.push(tr);
  }
  $("grid").tBodies[0].replaceChildren(...rows);
  text($("status"), `${from} – ${to}: ${data.shifts.length} 个班次 / shifts, ${data.overrides.length} 个调班 / overrides`).className = "";
}

function body() {
  return {tier: $("tier").value, from: $("o-from").value, to: $("o-to").value, replace: $("o-replace").value || null,
          by: $("o-by").value || null, reason: $("o-reason").value, actor: $("actor").value};
}
function line(prefix, s) { return `${prefix} ${s.start.slice(5, 16).replace("T", " ")}–${hm(s.end)} ${s.person} (${LAYERS[s.layer]})`; }

async function preview() {
  previewed = null; $("save-btn").disabled = true;
  const r = await fetch(ROOT + "/api/roster/overrides/preview", {method: "POST", headers: {"Content-Type": "application/json"},
                                                          body: JSON.stringify(body())});
  const data = await r.json();
  const box = $("preview");
  if (!r.ok) {
    const msg = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
    box.replaceChildren(text(document.createElement("p"), msg)); box.firstChild.id = "preview-error";
    box.firstChild.className = "error"; return;
  }
  const items = [...data.ends.map(s => line("−", s)), ...data.makes.map(s => line("+", s))];
  const ul = document.createElement("ul"); ul.id = "preview-lines";
  ul.append(...items.map(t => text(document.createElement("li"), t)));
  box.replaceChildren(text(document.createElement("p"), "预览，尚未保存 / preview, not saved yet:"), ul);
  previewed = JSON.stringify(body()); $("save-btn").disabled = false;
}

async function save() {
  if (previewed !== JSON.stringify(body())) { await preview(); return; }  // changed since the preview
  if (asksOnly()) {
    const q = await fetch(ROOT + "/api/roster/requests", {method: "POST", headers: {"Content-Type": "application/json"},
                                                    body: previewed});
    const res = await q.json(); $("save-btn").disabled = true; previewed = null;
    text($("preview"), q.ok ? `已提交申请 / requested #${res.request}` : res.detail).className = q.ok ? "ok" : "error";
    await loadRequests(); return;
  }
  const r = await fetch(ROOT + "/api/roster/overrides", {method: "POST", headers: {"Content-Type": "application/json"},
                                                  body: previewed});
  const data = await r.json();
  $("save-btn").disabled = true; previewed = null;
  if (!r.ok) { text($("preview"), data.detail).className = "error"; return; }
  text($("preview"), `已保存 / saved #${data.id}: ${data.text}`).className = "ok";
  const undo = text(document.createElement("button"), `撤销 Undo #${data.id}`); undo.id = "undo-btn";
  undo.onclick = async () => {
    const u = await fetch(ROOT + `/api/roster/overrides/${data.id}`, {method: "DELETE"});
    const res = await u.json();
    $("undo-bar").replaceChildren(text(document.createElement("p"), u.ok ? `已撤销 / undone #${res.removed.join(", #")}`
                                                                        : res.detail));
    $("undo-bar").firstChild.id = "undo-result";
    await load();
  };
  $("undo-bar").replaceChildren(undo);
  await load();
}

async function importFile(dryRun) {
  const file = $("import-file").files[0];
  if (!file) return;
  const form = new FormData(); form.append("file", file);
  const r = await fetch(ROOT + `/api/roster/import?dry_run=${dryRun}`, {method: "POST", body: form});
  const data = await r.json();
  const box = $("import-result");
  $("import-apply").disabled = !(r.ok && dryRun);
  if (!r.ok) { const pre = text(document.createElement("pre"), data.detail); pre.id = "import-error";
               pre.className = "error"; box.replaceChildren(pre); return; }
  const head = text(document.createElement("p"), (data.applied ? "已导入 / imported: " : "预览，尚未导入 / preview: ")
                    + data.summary);
  head.id = "import-summary";
  const ul = document.createElement("ul"); ul.id = "import-lines";
  ul.append(...data.lines.map(t => text(document.createElement("li"), t)),
            ...data.warnings.map(t => { const li = text(document.createElement("li"), t); li.className = "warn"; return li; }));
  box.replaceChildren(head, ul);
  if (data.applied) await load();
}

const params = new URLSearchParams(location.search);
$("start").value = params.get("start") || iso(new Date());
$("view").value = params.get("view") || "week";
$("view").onchange = load; $("start").onchange = load; $("actor").onchange = loadRequests;
$("prev").onclick = () => { $("start").value = addDays($("start").value, $("view").value === "week" ? -7 : -28); load(); };
$("next").onclick = () => { $("start").value = addDays($("start").value, $("view").value === "week" ? 7 : 28); load(); };
$("preview-btn").onclick = preview; $("save-btn").onclick = save;
$("s-pick-first").onclick = () => { if (clicked) { $("s-first").value = clicked.spec; swapTier = clicked.tier; } };
$("s-pick-second").onclick = () => { if (clicked) { $("s-second").value = clicked.spec; } };
$("swap-btn").onclick = swap;
$("import-preview").onclick = () => importFile(true); $("import-apply").onclick = () => importFile(false);
$("import-file").onchange = () => { $("import-apply").disabled = true; };
whoAmI().then(load);
