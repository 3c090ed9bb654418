// The ticket page's satisfaction survey (回访): its state and answers, recording the answers by hand (staff who
// called the customer themselves; the server refuses whoever solved the ticket), and the caller's surveys.
const SURVEY_STATUS = {scheduled: "待回访", calling: "回访中", answered: "已回访", unreachable: "未联系上",
                       cancelled: "已取消", skipped: "不回访"};
let surveyTicket = null;

function surveyLine(s) {
  const parts = [`${SURVEY_STATUS[s.status] || s.status} ${s.status}`, `方式 way ${s.way}`];
  if (s.status === "answered") {
    parts.push(`已解决 solved ${s.solved === null ? "-" : (s.solved ? "是 yes" : "否 no")}`,
               `评分 score ${s.score}/${s.full_score}`, `${s.answered_at} (${s.answered_via}${s.recorded_by ? " " + s.recorded_by : ""})`);
  } else {
    parts.push(`已试 tries ${s.tries}`, `时限 due by ${s.due_by}`);
  }
  if (s.complaint_ticket_id) parts.push(`投诉跟进 complaint ${s.complaint_ticket_id}`);
  return parts.join(" · ");
}

const QUESTION_NAMES = {
  solved: "问题是否已解决 solved", overall: "总体满意度 overall", response: "响应及时 response",
  resolution: "解决及时 resolution", attitude: "服务态度 attitude", skill: "专业能力 skill",
  communication: "沟通表达 communication",
};

async function showSurvey(ticketId) {
  surveyTicket = ticketId;
  const r = await fetch(ROOT + `/api/surveys/${encodeURIComponent(ticketId)}`);
  const s = r.ok ? await r.json() : null;
  document.getElementById("s-state").textContent = s ? surveyLine(s) : "尚无回访 / no survey yet";
  document.getElementById("s-answers").replaceChildren(...(s ? s.answers : []).map((a) => {
    // the short name of the question; the words the caller heard or read (prompt, SMS) on hover
    const e = document.createElement("li"); e.textContent = `${a.label || QUESTION_NAMES[a.question] || a.question}: ${a.value_text ?? a.value}`;
    e.title = a.question_text; return e;
  }));
  const t = await (await fetch(ROOT + `/api/tickets/${encodeURIComponent(ticketId)}`)).json();
  const history = await fetch(ROOT + "/api/surveys?" + new URLSearchParams({caller: t.number}));
  const rows = history.ok ? await history.json() : [];
  document.getElementById("s-history").replaceChildren(...rows.map((h) => {
    const e = document.createElement("li"); e.textContent = `${h.ticket_id}: ${surveyLine(h)}`; return e;
  }));
}
window.showSurvey = showSurvey;

document.getElementById("s-record").onclick = async () => {
  if (!surveyTicket) return;
  document.getElementById("error").textContent = "";
  const r = await fetch(ROOT + `/api/surveys/${encodeURIComponent(surveyTicket)}/record`, {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({by: document.getElementById("me").value.trim(),
                          answers: {solved: Number(document.getElementById("s-solved").value),
                                    overall: Number(document.getElementById("s-score").value)},
                          note: document.getElementById("s-note").value || null})});
  const data = await r.json();
  if (!r.ok) { document.getElementById("error").textContent = String(data.detail || r.statusText); return; }
  await showSurvey(surveyTicket);
};
