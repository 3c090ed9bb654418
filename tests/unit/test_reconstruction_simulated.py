"""Unseen traffic: the simulated PBX's overlapping calls (other agents, other timings, every scenario)
reconstruct to exactly the calls it planned."""

from __future__ import annotations

from collections import Counter

import pytest

from hotline.config import Settings
from hotline.domain.calls import Call
from hotline.providers.asterisk.protocol import PacketParser
from hotline.providers.asterisk.sim.traffic import TrafficGenerator
from hotline.runtime.assembly import AmiIngest
from hotline.services.calls.ledger import Ledger

FIELDS = ("direction", "caller", "called", "queue", "specialty", "outcome", "answered_by", "hung_up_by")


@pytest.mark.parametrize("seed", [1, 7, 2026])
def test_generated_traffic_reconstructs_to_the_plan(seed: int, settings: Settings) -> None:
    gen = TrafficGenerator(seed=seed, start_epoch=1795412800.0, calls_per_hour=900, extra_agents=3,
                           bare_agent_complete=0.05, gbk_names=0.1)
    packets, plan = gen.generate(400)
    parser = PacketParser(fallback=settings.ami.fallback_encoding)
    ledger = Ledger(None)
    ingest = AmiIngest(settings, ledger)
    done: list[Call] = []
    for raw in packets:
        for packet in parser.feed(raw):
            done.extend(ingest.feed(packet))
    done.extend(ingest.finish())
    got = {c.call_id: c.as_dict() for c in done}
    assert not ledger.open
    assert set(got) == {p.call_id for p in plan}
    outcomes = Counter(p.outcome for p in plan)
    assert {"answered", "abandoned", "timeout", "busy", "ivr_abandoned"} <= set(outcomes)
    assert Counter(p.direction for p in plan)["outbound"] > 0
    for p in plan:
        g = got[p.call_id]
        assert {k: g[k] for k in FIELDS} == {k: getattr(p, k) for k in FIELDS}, p
        for k in ("wait_seconds", "talk_seconds"):
            want = getattr(p, k)
            assert (g[k] is None) == (want is None), (k, p)
            if want is not None:
                assert g[k] == pytest.approx(want, abs=0.05), (k, p)
