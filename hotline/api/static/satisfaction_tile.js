// The overview's satisfaction tile: this month's average / full score, never without its sample size, and the
// response rate and share surveyed within 24 h beside it (GET /api/reports/satisfaction).
(function () {
  const el = (id) => document.getElementById(id);
  const pct = (v) => (v === null || v === undefined ? "-" : (100 * v).toFixed(1) + "%");
  async function refresh() {
    if (!el("tile-satisfaction")) return;
    const r = await fetch((document.body.dataset.root || "") + "/api/reports/satisfaction");
    if (!r.ok) return;
    const g = (await r.json()).groups[0];
    if (!g) return;
    el("tile-satisfaction").textContent = pct(g.satisfaction);
    el("tile-satisfaction-sample").textContent =
      `样本 sample ${g.sample} · 应答率 response ${pct(g.response_rate)} · 24h内 ${pct(g.within_24h_share)}` +
      ` · 未联系上 unreachable ${g.unreachable}`;
  }
  refresh();
  setInterval(refresh, 60000);
})();
