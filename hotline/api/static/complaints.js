// Complaints (投诉) on the ticket page: mark, reply, agree the deadline, the 《客户投诉反馈表》 with its
// versions and downloads; and recording a complaint by hand. Uses call/render/show/loadList of tickets.js.
const FORM_FIELDS = ["complaint", "investigation", "cause", "measures", "feedback", "confirmation"];
const SOURCE = {ivr: "语音菜单 IVR", call: "来电标记 call", hand: "人工登记 by hand", survey: "回访低分 survey"};

// The form's fields are (re)filled from the server only when they hold another ticket's form or nothing the
// user typed since the last fill: a reload that was already under way when the user started typing (after a
// reply, say) must not wipe what they typed. Of overlapping loads only the latest one is applied.
let formOf = null;
let typed = false;
let formLoads = 0;
FORM_FIELDS.forEach((f) => $("c-" + f).addEventListener("input", () => { typed = true; }));

async function loadForm(id) {
  const load = ++formLoads;
  const data = await call("GET", ROOT + `/api/tickets/${id}/complaint/form`);
  if (load !== formLoads) return;
  const form = data.form || {};
  if (id !== formOf || !typed) {
    FORM_FIELDS.forEach((f) => { $("c-" + f).value = form[f] || ""; });
    formOf = id;
    typed = false;
  }
  $("c-version").textContent = data.form ? `v${data.form.version} · ${data.form.saved_by} · ${data.form.saved_at}` : "未填写 not filled in";
  $("c-history").replaceChildren(...data.history.map((v) => li(`v${v.version} ${v.saved_at} ${v.saved_by}`)));
  $("c-xlsx").href = ROOT + `/api/tickets/${id}/complaint/form.xlsx`;
  $("c-pdf").href = ROOT + `/api/tickets/${id}/complaint/form.pdf`;
}

window.renderComplaint = (t) => {
  const c = t.complaint;
  $("c-mark").classList.toggle("hidden", t.ticket_type === "complaint");
  $("c-body").classList.toggle("hidden", t.ticket_type !== "complaint");
  $("c-state").textContent = c ? `${SOURCE[c.source] || c.source || "-"} · 投诉时间 ${c.complained_at}` +
    ` · 答复 ${c.replied_at || "未答复 not replied"} · 约定 ${c.agreed_due_at || "-"}` : "";
  if (t.ticket_type === "complaint") loadForm(t.ticket_id);
};

async function complaintAct(path, body) {
  render(await call("POST", ROOT + `/api/tickets/${current}/${path}`, {by: me(), ...body}));
  await loadList();
}

$("c-mark").onclick = () => complaintAct("complaint", {});
$("c-reply-go").onclick = () => complaintAct("complaint/reply", {text: $("c-reply").value});
$("c-due-go").onclick = () => {
  const v = $("c-due").value;
  complaintAct("complaint/deadline", {due: v ? new Date(v).toISOString() : ""});
};
$("c-save").onclick = async () => {
  const body = {by: me()};
  FORM_FIELDS.forEach((f) => { body[f] = $("c-" + f).value; });
  await call("PUT", ROOT + `/api/tickets/${current}/complaint/form`, body);
  if (FORM_FIELDS.every((f) => $("c-" + f).value === body[f])) typed = false;  // nothing typed since: saved as shown
  await show(current);
};
$("nc-go").onclick = async () => {
  const t = await call("POST", ROOT + "/api/complaints", {by: me(), number: $("nc-number").value, summary: $("nc-summary").value});
  await loadList();
  await show(t.ticket_id);
};
