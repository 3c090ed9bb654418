"""The survey IVR (`ivr_scripts/survey.yaml`) asks the questions the survey policy enables: the script holds
one menu per question, chained in order (solved, score, then the optional sub-scores); the menus of questions
not asked are left out and the chain is relinked around them. Also the prompt each question is asked with,
filled in as the caller hears it (stored with the answer)."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from hotline.ivr.context import IvrContext
from hotline.ivr.model import AnyNode, Fallback, Menu, Say, Script, SetVars
from hotline.ivr.prompts import parts

# question key (hotline.domain.surveys) -> the survey script's menu node; the menu sets `survey_<node>`
QUESTION_NODES = {"solved": "solved", "overall": "score", "response": "response", "resolution": "resolution",
                  "attitude": "attitude", "skill": "skill", "communication": "communication"}
VARIABLES = {f"survey_{node}": key for key, node in QUESTION_NODES.items()}  # script variable -> question


def _next(node: AnyNode) -> str | None:
    if isinstance(node, (Say, SetVars)):
        return node.next
    if isinstance(node, Menu) and node.options:
        return node.options[0].next
    return None


def asked_script(script: Script, asked: Collection[str]) -> Script:
    """The script without the menus of questions not in `asked` (question keys), every link relinked."""
    skip = {node for key, node in QUESTION_NODES.items() if key not in asked and node in script.nodes}
    if not skip:
        return script

    def follow(target: str) -> str:
        seen: set[str] = set()
        while target in skip and target not in seen:
            seen.add(target)
            target = _next(script.nodes[target]) or target
        return target

    def fallback(f: Fallback | None) -> Fallback | None:
        return None if f is None else dataclasses.replace(f, next=follow(f.next))

    nodes: dict[str, AnyNode] = {}
    for node_id, node in script.nodes.items():
        if node_id in skip:
            continue
        if isinstance(node, (Say, SetVars)):
            node = dataclasses.replace(node, next=follow(node.next))
        elif isinstance(node, Menu):
            node = dataclasses.replace(node, options=tuple(dataclasses.replace(o, next=follow(o.next))
                                                           for o in node.options),
                                       on_invalid=fallback(node.on_invalid), on_timeout=fallback(node.on_timeout))
        nodes[node_id] = node
    return dataclasses.replace(script, start=follow(script.start), nodes=nodes)


def question_prompts(script: Script, ctx: IvrContext) -> dict[str, str]:
    """Question key -> its menu's prompt as the caller hears it, every language in play order ('zh / en')."""
    out = {}
    for key, node_id in QUESTION_NODES.items():
        node = script.nodes.get(node_id)
        if isinstance(node, Menu):
            out[key] = " / ".join(p.text for p in parts(script, ctx, node_id, "", node.prompt))
    return out
