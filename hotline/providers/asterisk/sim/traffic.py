"""A simulated Asterisk 22 PBX that speaks AMI: randomised, realistic hotline traffic.

`TrafficGenerator` produces the event packets a real PBX would send for overlapping calls (queues,
IVR, duty line, staff callbacks), together with its own truth about each call (`PlannedCall`).
Pure generator: no sockets; the fake AMI server pushes these packets to clients.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

from hotline.providers.asterisk.sim.dial import CallbackFlow, DutyFlow
from hotline.providers.asterisk.sim.engine import Pbx, PbxConfig, PlannedCall, Proc, Script
from hotline.providers.asterisk.sim.flows import InboundFlow

__all__ = ["SCENARIOS", "PlannedCall", "TrafficGenerator", "build_stream", "large_stream"]

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
LOGIN = b"Response: Success\r\nActionID: login\r\nMessage: Authentication accepted\r\n\r\n"
GOODBYE = b"Response: Goodbye\r\nActionID: logoff\r\nMessage: Thanks for all the fish.\r\n\r\n"

# Scenario -> default share of calls.
SCENARIOS: dict[str, float] = {
    "queue_answered_caller_hangup": 0.28,
    "queue_answered_agent_hangup": 0.12,
    "queue_abandoned": 0.10,
    "queue_timeout": 0.05,
    "queue_ring_noanswer": 0.08,
    "queue_overflow": 0.03,
    "duty_answered": 0.08,
    "duty_busy": 0.04,
    "duty_noanswer": 0.03,
    "ivr_hangup_before_menu": 0.05,
    "ivr_hangup_after_menu": 0.04,
    "callback_answered": 0.07,
    "callback_noanswer": 0.03,
}
QUEUES: dict[str, list[str]] = {
    "network": ["agent1", "agent2"],
    "servers": ["agent1", "agent2", "agent3"],
    "apps": ["agent3", "agent4"],
}
STRATEGIES = {"network": "ringall", "servers": "rrmemory", "apps": "rrmemory"}
MENU = {"1": "network", "2": "servers", "3": "apps"}
SPECIALTIES = {"network": "network", "servers": "servers", "apps": "applications"}
HOTLINE, DUTY_LINE = "4008001234", "4008005678"

_SURNAMES = ["Zhang", "Wang", "Li", "Zhao", "Liu", "Chen", "Yang", "Huang", "Zhou", "Wu", "Xu", "Sun"]
_GIVEN = ["Wei", "Fang", "Min", "Jing", "Lei", "Qiang", "Yan", "Jun", "Tao", "Ming", "Hui", "Xia"]
_HANZI_SURNAMES = "张王李赵刘陈杨黄周吴徐孙"
_HANZI_GIVEN = ["伟", "芳", "敏", "静", "磊", "强", "艳", "军", "涛", "明", "慧", "霞"]
LARGE_START = 1_795_000_000.0


class TrafficGenerator:
    """Seeded generator of AMI traffic for a hotline; the same arguments give the same bytes."""

    def __init__(
        self,
        seed: int,
        start_epoch: float,
        *,
        calls_per_hour: float = 60,
        mix: Mapping[str, float] | None = None,
        agents: Mapping[str, Sequence[str]] | None = None,
        extra_agents: int = 0,
        queue_timeout: int = 120,
        bare_agent_complete: float = 0.02,
        gbk_names: float = 0.0,
        jitter: float = 0.02,
    ) -> None:
        """`agents`: queue -> member names (default: the lab's); `extra_agents` adds agent5, agent6, ...
        spread over the queues. `bare_agent_complete`: share of answered queue calls whose AgentComplete
        carries no channel fields. `gbk_names`: share of Chinese caller names sent as GBK bytes."""
        if calls_per_hour <= 0:
            raise ValueError(f"calls_per_hour must be positive, got {calls_per_hour}")
        shares = dict(mix if mix is not None else SCENARIOS)
        unknown = sorted(set(shares) - set(SCENARIOS))
        if unknown:
            raise ValueError(f"unknown scenario(s) in mix: {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
        if not shares or sum(shares.values()) <= 0:
            raise ValueError("mix must give at least one scenario a positive share")
        queues = {q: list(m) for q, m in (agents or QUEUES).items()}
        names = list(queues)
        for i in range(extra_agents):
            queues[names[i % len(names)]].append(f"agent{5 + i}")
        self.seed = seed
        self.start_epoch = start_epoch
        self.calls_per_hour = calls_per_hour
        self.mix = shares
        self.queues = queues
        self.queue_timeout = queue_timeout
        self.bare_agent_complete = bare_agent_complete
        self.gbk_names = gbk_names
        self.jitter = jitter

    def generate(self, n_calls: int) -> tuple[list[bytes], list[PlannedCall]]:
        """All packets of `n_calls` calls (time order) and the plan, sorted by start."""
        plans: list[PlannedCall] = []
        packets = [data for _, data in self.stream(n_calls, on_call=plans.append)]
        plans.sort(key=lambda p: p.started_at)
        return packets, plans

    def stream(self, n_calls: int | None = None, *,
               on_call: Callable[[PlannedCall], None] | None = None) -> Iterator[tuple[float, bytes]]:
        """(epoch time, packet) lazily, forever when `n_calls` is None. `on_call` gets each call's
        PlannedCall once its last event has been generated."""
        rng = random.Random(self.seed)
        digits = {d: q for d, q in MENU.items() if q in self.queues} or {"1": next(iter(self.queues))}
        config = PbxConfig(queues=self.queues, strategies=STRATEGIES, menu=digits,
                           specialties=SPECIALTIES, hotline=HOTLINE, duty_line=DUTY_LINE, jitter=self.jitter)
        pbx = Pbx(rng, self.start_epoch, config)
        pbx.on_finish = on_call
        pbx.spawn(self._arrivals(pbx, rng, n_calls))
        return pbx.run()

    # -- calls ------------------------------------------------------------------------------------

    def _arrivals(self, pbx: Pbx, rng: random.Random, n_calls: int | None) -> Proc:
        people = [self._person(rng) for _ in range(400)]
        recent: list[str] = []
        kinds, weights = list(self.mix), list(self.mix.values())
        t = self.start_epoch + rng.uniform(0.5, 3.0)
        i = 0
        while n_calls is None or i < n_calls:
            yield t
            kind = rng.choices(kinds, weights)[0]
            script = self._script(rng, kind, rng.choice(people), recent, pbx.cfg)
            if kind.startswith("callback"):
                pbx.spawn(CallbackFlow(pbx, script, t).run())
            elif kind.startswith("duty"):
                pbx.spawn(DutyFlow(pbx, script, t).run())
            else:
                pbx.spawn(InboundFlow(pbx, script, t).run())
            if kind in ("queue_abandoned", "queue_timeout", "duty_busy", "duty_noanswer"):
                recent = [*recent[-19:], script.caller]
            i += 1
            t += rng.expovariate(self.calls_per_hour / 3600.0)

    def _person(self, rng: random.Random) -> tuple[str, str, str]:
        number = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
        if rng.random() < 0.3:
            name = rng.choice(_HANZI_SURNAMES) + "".join(rng.sample(_HANZI_GIVEN, rng.randint(1, 2)))
            encoding = "gbk" if rng.random() < self.gbk_names else "utf-8"
        else:
            name, encoding = f"{rng.choice(_SURNAMES)} {rng.choice(_GIVEN)}", "utf-8"
        return number, name, encoding

    def _script(self, rng: random.Random, kind: str, person: tuple[str, str, str], recent: list[str],
                cfg: PbxConfig) -> Script:
        number, name, encoding = person
        s = Script(kind=kind, caller=number, caller_name=name, encoding=encoding, called=HOTLINE,
                   menu=rng.choice(sorted(cfg.menu)), digit_after=rng.uniform(3.9, 7.5),
                   patience=600.0, answer_after=rng.uniform(1.5, 12.0), queue_timeout=self.queue_timeout,
                   talk=min(max(rng.lognormvariate(math.log(120), 0.7), 8.0), 1500.0),
                   staff_hangs_up=rng.random() < 0.35, bare_complete=rng.random() < self.bare_agent_complete)
        if kind == "queue_answered_caller_hangup":
            s.staff_hangs_up = False
        elif kind == "queue_answered_agent_hangup":
            s.staff_hangs_up = True
        elif kind == "queue_abandoned":
            s.answer_after, s.patience = None, rng.uniform(4.0, 90.0)
        elif kind == "queue_timeout":
            s.answer_after, s.patience = None, math.inf
        elif kind == "queue_ring_noanswer":
            rr = sorted(d for d, q in cfg.menu.items() if cfg.strategies.get(q, "rrmemory") == "rrmemory")
            s.menu = rng.choice(rr) if rr else s.menu
            s.rings_unanswered = 1
        elif kind == "queue_overflow":
            first = cfg.menu[s.menu or "1"]
            others = sorted(q for q in cfg.queues if q != first)
            s.overflow = rng.choice(others) if others else None
        elif kind.startswith("duty"):
            s.called, s.menu = DUTY_LINE, None
            s.answer_after = None if kind == "duty_noanswer" else rng.uniform(2.0, 15.0)
            s.busy = kind == "duty_busy"
        elif kind == "ivr_hangup_before_menu":
            s.menu, s.ivr_hangup = None, rng.uniform(1.0, 10.0)
        elif kind == "ivr_hangup_after_menu":
            s.ivr_hangup = s.digit_after + rng.uniform(0.4, 1.6)
        elif kind.startswith("callback"):
            s.called = rng.choice(recent) if recent and rng.random() < 0.8 else number
            s.answer_after = None if kind == "callback_noanswer" else rng.uniform(3.0, 15.0)
            s.encoding = "utf-8"
        return s


def build_stream(packets: Iterable[bytes], banner: bool = True) -> bytes:
    """A whole `.ami`-style byte stream: banner and login response, the packets, the Goodbye."""
    body = b"".join(packets)
    return BANNER + LOGIN + body + GOODBYE if banner else body


def large_stream(target_events: int, seed: int) -> Iterator[bytes]:
    """About `target_events` packets of busy-hotline traffic, generated lazily (for benchmarks)."""
    gen = TrafficGenerator(seed, LARGE_START, calls_per_hour=120, extra_agents=4)
    for count, (_, data) in enumerate(gen.stream()):
        if count >= target_events:
            return
        yield data
