"""Transfers on the real Asterisk: the part of the call driver that `../shared/asterisk/ami_lab.py` lacks.

A call is placed with the lab driver (a caller in a queue, a member answering); once the member is
connected, this helper sends the transfer over AMI as a staff phone would: `BlindTransfer` (the caller is
sent on at once) or `Atxfer` (the member consults the colleague while the caller holds, and completes the
transfer by hanging up). Transfer targets live in the drop-in context `hotline-xfer`:

- `800N` rings colleague `agentN` (the lab's `agents` context, behaviour from `BEHAVE_agentN`);
- `7001`/`7002`/`7003` send the caller to the queue of menu key 1/2/3 (`hotline-in`).

`Atxfer` needs an attended-transfer key in `features.conf` (`[featuremap] atxfer => *2`; the lab's file is
empty) and the transfer feature on the member's side of the bridge: the call carries `BRIDGE_FEATURES=t`
(what a site's `Queue(...,t)` option gives). `install` puts both dialplan and feature map in place.

`SCENARIOS` are the transfers recorded as `tests/fixtures/ami/transfer_*.ami` and placed live by
`test_pbx_transfers.py`; `python -m tests.integration.pbx_transfers --ami-port N --etc DIR --out DIR`
records them again against a running lab PBX.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TRANSFER_CONTEXT = "hotline-xfer"
TRANSFER_DIALPLAN = f"""; transfer targets of the transfer tests (tests/integration/pbx_transfers.py)
[{TRANSFER_CONTEXT}]
exten => _800[1-4],1,NoOp(transfer to colleague agent${{EXTEN:3}})
 same => n,Dial(Local/agent${{EXTEN:3}}@agents/n,30)
 same => n,Hangup()
exten => _700[1-3],1,NoOp(transfer to the queue of key ${{EXTEN:3}})
 same => n,Goto(hotline-in,${{EXTEN:3}},1)
"""


@dataclass
class Transfer:
    """One scripted transfer: `kind` blind or attended, `after` seconds after the member answered,
    to `target` (an extension of `hotline-xfer`)."""

    kind: str
    after: float
    target: str


FEATURES_CONF = "[general]\n\n[featuremap]\natxfer => *2 ; added by the hotline transfer tests\n"


def install(cli: Callable[[str], str], etc: Path) -> str:
    """Put the transfer targets and the attended-transfer key into the PBX whose config folder is `etc`;
    returns the previous `features.conf` (give it to `uninstall`)."""
    folder = etc / "extensions.d"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hotline-xfer.conf").write_text(TRANSFER_DIALPLAN, encoding="utf-8")
    features = etc / "features.conf"
    before = features.read_text(encoding="utf-8") if features.exists() else ""
    features.write_text(FEATURES_CONF, encoding="utf-8")
    cli("dialplan reload")
    cli("module reload features")
    return before


def uninstall(cli: Callable[[str], str], etc: Path, features_before: str) -> None:
    """Leave the PBX as it was found."""
    (etc / "extensions.d" / "hotline-xfer.conf").unlink(missing_ok=True)
    (etc / "features.conf").write_text(features_before, encoding="utf-8")
    cli("dialplan reload")
    cli("module reload features")


@dataclass
class Scenario:
    """A caller, the queue member who answers, and the transfer that member makes."""

    number: str
    name: str
    menu: str
    hold: float  # the caller hangs up this long after pressing the menu key
    agents: dict[str, str]
    transfer: Transfer

    def call(self, lab: Any, cid: str) -> dict[str, Any]:
        extra = [("BRIDGE_FEATURES", "t")] if self.transfer.kind == "attended" else []
        planned: dict[str, Any] = lab.call(cid, 0, self.number, self.name, menu=self.menu, hold=self.hold,
                                           agents=self.agents, kind=f"transfer_{self.transfer.kind}",
                                           extra_vars=extra)
        return planned


SCENARIOS: dict[str, Scenario] = {
    # agent1 answers after 2 s, talks 4 s, sends the caller to colleague agent3 (rings 2 s); the caller
    # talks with agent3 and hangs up 14 s after pressing 1.
    "transfer_blind": Scenario("13800138004", "刘洋", "1", 14,
                               {"agent1": "answer:2:600", "agent2": "ring", "agent3": "answer:2:600"},
                               Transfer("blind", 4, "8003")),
    # agent1 answers after 2 s, after 4 s consults colleague agent4 (answers after 2 s) while the caller
    # holds, and hangs up 12 s after answering: the caller is put through; agent4 hangs up 8 s after answering.
    "transfer_attended": Scenario("01012345678", "冯婷", "1", 600,
                                  {"agent1": "answer:2:12", "agent2": "ring", "agent4": "answer:2:8"},
                                  Transfer("attended", 4, "8004")),
    # agent1 answers after 2 s, after 4 s sends the caller to the apps queue (key 3), where agent3 would answer
    # after 2 s; in the recording the queue (rrmemory) rang agent4 first, who never answers, and the caller
    # hung up 14 s after pressing 1, before the queue's turn passed to agent3.
    "transfer_blind_queue_unanswered": Scenario("13800138005", "王芳", "1", 14,
                                     {"agent1": "answer:2:600", "agent2": "ring", "agent3": "answer:2:600",
                                      "agent4": "ring"},
                                     Transfer("blind", 4, "7003")),
}


def _connected_member(rec: Any, start: int, timeout: float) -> dict[str, str]:
    """The first AgentConnect after byte `start` of the recorder's stream."""
    if not rec.wait_for(b"Event: AgentConnect\r\n", timeout, start):
        raise AssertionError("no member answered the call")
    for msg in rec.lab_parse(bytes(rec.raw[start:])):
        if msg.get("Event") == "AgentConnect":
            return dict(msg)
    raise AssertionError("AgentConnect not parsed")


def _transfer_action(transfer: Transfer, member: str) -> list[tuple[str, str]]:
    action = "BlindTransfer" if transfer.kind == "blind" else "Atxfer"
    return [("Action", action), ("Channel", member), ("Context", TRANSFER_CONTEXT), ("Exten", transfer.target)]


def run_transfers_together(lab: Any, out: Path, name: str, plans: list[tuple[dict[str, Any], Transfer]],
                           timeout: float = 60.0, settle: float = 1.0) -> dict[str, dict[str, str]]:
    """Place several calls at once (each caller a different number), send each call's transfer `after`
    seconds after its member answered; the first AgentConnect of each caller number."""
    rec = lab.RawConn(f"{out}/{name}.ami")
    rec.login(events="on")
    ctl = lab.RawConn()
    ctl.login(events="off", actionid="ctl-login")
    time.sleep(0.3)
    connects: dict[str, dict[str, str]] = {}
    try:
        mark = len(rec.raw)
        for call, _ in plans:
            lab.originate(ctl, name, call)
        due: dict[str, float] = {}
        sent: set[str] = set()
        end = time.monotonic() + timeout
        while len(sent) < len(plans):
            if time.monotonic() > end:
                raise AssertionError(f"members answered {sorted(connects)} of {len(plans)} calls")
            for msg in lab.parse_messages(bytes(rec.raw[mark:])):
                number = msg.get("CallerIDNum", "")
                if msg.get("Event") == "AgentConnect" and number not in connects:
                    connects[number] = dict(msg)
            for call, transfer in plans:
                number = call["caller_number"]
                if number in connects and number not in due:
                    due[number] = time.monotonic() + transfer.after
                if number in due and number not in sent and time.monotonic() >= due[number]:
                    answer = ctl.action(_transfer_action(transfer, connects[number]["DestChannel"]),
                                        f"{name}-{call['id']}-transfer")
                    if not any(m.get("Response") == "Success" for m in answer):
                        raise AssertionError(f"{transfer.kind} transfer refused: {answer}")
                    sent.add(number)
            time.sleep(0.05)
        lab.wait_idle(ctl, settle=settle)
    finally:
        ctl.logoff("ctl-logoff")
        rec.logoff("logoff")
    return connects


def run_transfer(lab: Any, out: Path, name: str, call: dict[str, Any], transfer: Transfer,
                 settle: float = 1.0) -> tuple[bytes, dict[str, str]]:
    """Record `call` with its transfer into `out/<name>.ami`; the raw bytes and the first AgentConnect."""
    rec = lab.RawConn(f"{out}/{name}.ami")
    rec.lab_parse = lab.parse_messages
    rec.login(events="on")
    ctl = lab.RawConn()
    ctl.login(events="off", actionid="ctl-login")
    time.sleep(0.3)
    try:
        mark = len(rec.raw)
        lab.originate(ctl, name, call)
        connect = _connected_member(rec, mark, 60)
        time.sleep(transfer.after)
        answer = ctl.action(_transfer_action(transfer, connect["DestChannel"]), f"{name}-transfer")
        if not any(m.get("Response") == "Success" for m in answer):
            raise AssertionError(f"{transfer.kind} transfer refused: {answer}")
        lab.wait_idle(ctl, settle=settle)
    finally:
        ctl.logoff("ctl-logoff")
        rec.logoff("logoff")
    return bytes(rec.raw), connect

# The live test places one blind and one attended transfer at the same time; every member's behaviour is per
# call (the `__BEHAVE_*` of its caller), so the calls only need members that do not ring for both queues.
LIVE: dict[str, Scenario] = {
    # network: agent1 answers after 2 s, after 4 s sends the caller to agent3 (answers after 2 s, by Dial);
    # the caller hangs up 14 s after pressing 1.
    "blind": Scenario("13800138004", "刘洋", "1", 14,
                      {"agent1": "answer:2:600", "agent2": "ring", "agent3": "answer:2:600"},
                      Transfer("blind", 4, "8003")),
    # apps (rrmemory): whichever of agent3/agent4 it rings first answers after 2 s, consults agent2 after
    # 4 s (answers after 2 s) and hangs up 12 s after answering; agent2 hangs up 8 s after answering.
    "attended": Scenario("01012345678", "冯婷", "3", 600,
                         {"agent3": "answer:2:12", "agent4": "answer:2:12", "agent2": "answer:2:8"},
                         Transfer("attended", 4, "8002")),
}


def main() -> None:
    import argparse
    import importlib.util
    import subprocess
    import sys

    parser = argparse.ArgumentParser(description="record the transfer scenarios from a running lab PBX")
    parser.add_argument("--ami-port", type=int, required=True)
    parser.add_argument("--run-dir", type=Path, required=True, help="the PBX's run folder (for the CLI)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("names", nargs="*", default=list(SCENARIOS))
    args = parser.parse_args()
    spec = importlib.util.spec_from_file_location("ami_lab", Path(__file__).resolve().parents[3] / "shared"
                                                  / "asterisk" / "ami_lab.py")
    assert spec is not None and spec.loader is not None
    lab: Any = importlib.util.module_from_spec(spec)
    sys.modules["ami_lab"] = lab
    spec.loader.exec_module(lab)
    lab.HOST, lab.PORT = "127.0.0.1", args.ami_port
    run = args.run_dir.resolve()
    etc = run / "etc" / "asterisk"

    def cli(command: str) -> str:
        return subprocess.run([str(run / "sbin" / "asterisk"), "-C", str(etc / "asterisk.conf"), "-rx", command],
                              check=True, capture_output=True, text=True,
                              env={"LD_LIBRARY_PATH": str(run / "lib")}).stdout

    before = install(cli, etc)
    try:
        for name in args.names:
            scenario = SCENARIOS[name]
            run_transfer(lab, args.out, name, scenario.call(lab, "c1"), scenario.transfer)
            print(name, "recorded")
    finally:
        uninstall(cli, etc, before)


if __name__ == "__main__":
    main()
