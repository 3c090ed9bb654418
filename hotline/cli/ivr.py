"""`hotline ivr lint|render|sounds`: check IVR scripts and produce what Twilio or Asterisk needs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hotline.cli import COMMON
from hotline.cli.arguments import output_dir
from hotline.config import ConfigError, Settings
from hotline.ivr.model import WINDOW_KINDS

if TYPE_CHECKING:  # the IVR's renderers load when a command runs, not for `--help` (bench/bench_cli_startup.py)
    from hotline.ivr.context import IvrContext
    from hotline.ivr.model import Issue, Script
    from hotline.ivr.prompts import SoundNeed


def ivr_context(settings: Settings) -> IvrContext:
    """The IVR's view of the configuration."""
    from hotline.ivr.context import build_context

    try:
        return build_context(
            company_name=settings.hotline.company_name,
            company_name_en=settings.hotline.company_name_en,
            queues=settings.queues,
            specialties={k: (v.name_zh, v.name_en) for k, v in settings.specialties.items()},
            twilio_voice=settings.twilio.voice,
            twilio_language=settings.twilio.language,
            timezone=settings.hotline.timezone,
            ivr=settings.section("ivr"),
            roster=settings.section("roster"),
            config_source=settings.source,
        )
    except (ValueError, TypeError) as e:
        raise ConfigError(settings.source, "ivr", str(e)) from None


def _scripts(files: list[str], settings: Settings) -> list[Path]:
    if files:
        return [Path(f) for f in files]
    return sorted(_scripts_dir(settings).glob("*.yaml"))


def _scripts_dir(settings: Settings) -> Path:
    return Path(str(settings.section("ivr").get("scripts_dir", "ivr_scripts")))


def _print_issues(issues: list[Issue]) -> None:
    for issue in issues:
        print(issue, file=sys.stderr)


def cmd_lint(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.ivr.lint import check_file

    ctx = ivr_context(settings)
    paths = _scripts(args.files, settings)
    if not paths:
        print("没有找到脚本 / no scripts found (ivr_scripts/*.yaml)", file=sys.stderr)
        return 1
    errors = 0
    for path in paths:
        issues = check_file(path, ctx)
        _print_issues(issues)
        errors += sum(1 for i in issues if i.severity == "error")
        if not issues:
            print(f"{path}: 通过 / ok")
    return 1 if errors else 0


def _load(path: Path, ctx: IvrContext) -> Script | None:
    from hotline.ivr.lint import load_checked
    from hotline.ivr.model import ScriptError

    try:
        return load_checked(path, ctx)
    except ScriptError as e:
        _print_issues(e.issues)
        print(f"{path}: 未通过检查,未生成 / failed lint, nothing rendered", file=sys.stderr)
        return None


def _served(script: Script, settings: Settings) -> Script:
    """The script as the PBX and Twilio serve it: the survey asks the questions `[surveys] questions` lists."""
    from hotline.ivr.survey_script import asked_script

    if script.name != "survey":
        return script
    from hotline.services.surveys.config import survey_config

    return asked_script(script, [q.key for q in survey_config(settings).policy.questions])


def cmd_render(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.ivr.dialplan import render_dialplan
    from hotline.ivr.twiml import render_twiml

    ctx = ivr_context(settings)
    script = _load(Path(args.file) if args.file else _scripts_dir(settings) / "default.yaml", ctx)
    if script is None:
        return 1
    script = _served(script, settings)
    out: Path | None = Path(args.out) if args.out else None
    if args.target == "twiml":
        # The webhook passes the real on-duty numbers; placeholders show where they go.
        placeholders = {tier: f"{{on-duty {tier}}}" for tier in ctx.tiers}
        nodes = render_twiml(script, ctx, args.window, placeholders)
        if out:
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{script.name}.twiml.json").write_text(
                json.dumps(nodes, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        else:
            for node_id, twiml in nodes.items():
                print(f"<!-- {node_id} -->\n{twiml}")
        return 0
    rendering = render_dialplan(script, ctx)
    sounds = "".join(f"; {ctx.sound_prefix}/{s.name}\t{_sound_state(s)}\t{s.text}\n" for s in rendering.sounds)
    if out:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"extensions_{ctx.context_prefix}_{script.name}.conf").write_text(rendering.extensions_conf,
                                                                                 encoding="utf-8")
        (out / f"queues_{ctx.context_prefix}_{script.name}.conf").write_text(rendering.queues_conf,
                                                                             encoding="utf-8")
        (out / f"{script.name}.sounds.txt").write_text(sounds, encoding="utf-8")
        if rendering.voicemail_conf:
            (out / f"voicemail_{ctx.context_prefix}_{script.name}.conf").write_text(rendering.voicemail_conf,
                                                                                    encoding="utf-8")
    else:
        print(rendering.extensions_conf)
        print(rendering.queues_conf)
        if rendering.voicemail_conf:
            print(rendering.voicemail_conf)
        print("; 需要的声音文件 / sound files needed:\n" + sounds, end="")
    return 0


def _sound_state(need: SoundNeed) -> str:
    if need.recorded:
        return "recorded"
    return f"joined by `hotline ivr sounds` from {' + '.join(need.joins)}" if need.joins else "to record"


def cmd_sounds(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.ivr.prompts import needed_sounds
    from hotline.ivr.sounds import build_page_prompts, build_sounds, find_tts
    from hotline.paging.ack_dialplan import PROMPTS as PAGE_PROMPTS

    ctx = ivr_context(settings)
    out = Path(args.out) if args.out else Path(settings.hotline.data_dir) / "sounds" / ctx.sound_prefix
    tts = find_tts()
    if tts is None:
        print("未安装 espeak-ng/sox,只复制录音 / espeak-ng or sox not installed: copying recordings only "
              "(apt-get install espeak-ng sox)", file=sys.stderr)
    status = 0
    pages = build_page_prompts(PAGE_PROMPTS, ctx.sounds_dir, out, tts)  # the voice page ack dialplan's
    for problem in pages.problems:
        print(problem, file=sys.stderr)
    print(f"语音寻呼确认 / voice page ack: 录音 {len(pages.recorded)},合成 {len(pages.synthesized)},"
          f"缺少 {len(pages.missing)} / recorded {len(pages.recorded)}, synthesized {len(pages.synthesized)}, "
          f"missing {len(pages.missing)} -> {out}")
    if pages.missing or pages.problems:
        status = 1
    for path in _scripts(args.files, settings):
        script = _load(path, ctx)
        if script is None:
            status = 1
            continue
        report = build_sounds(needed_sounds(_served(script, settings), ctx), ctx.sounds_dir, out, tts)
        for problem in report.problems:
            print(problem, file=sys.stderr)
        print(f"{path}: 录音 {len(report.recorded)},合成 {len(report.synthesized)},缺少 {len(report.missing)} / "
              f"recorded {len(report.recorded)}, synthesized {len(report.synthesized)}, "
              f"missing {len(report.missing)} -> {out}")
        for need in report.to_record:
            print(f"  待录音 / to record: {ctx.sounds_dir / (need.name + '.wav')}  [{need.node_id}] {need.text}")
        if report.missing or report.problems:
            status = 1
    return status


def cmd_page_ack(args: argparse.Namespace, settings: Settings) -> int:
    """The voice page acknowledgement dialplan for the `[paging.asterisk_call]` context."""
    from hotline.paging.ack_dialplan import ack_dialplan

    paging = settings.section("paging")
    call = paging.get("asterisk_call")
    context = str(call.get("context", "hotline-page-ack")) if isinstance(call, dict) else "hotline-page-ack"
    try:
        print(ack_dialplan(context, sound_prefix=ivr_context(settings).sound_prefix), end="")
    except ValueError as e:
        print(f"[paging.asterisk_call] context {context!r}: {e}", file=sys.stderr)
        return 1
    return 0


def pbx_files(settings: Settings, scripts: list[Path]) -> dict[str, str] | None:
    """Everything to install on the PBX, by file name: the AMI account, the dialplan (voice page ack and
    every IVR script), the queues' wait-again messages and the voicemail mailboxes."""
    from hotline.ivr.dialplan import render_dialplan
    from hotline.paging.ack_dialplan import PROMPTS as PAGE_PROMPTS
    from hotline.paging.ack_dialplan import ack_dialplan
    from hotline.providers.asterisk.manager_account import manager_conf

    ctx = ivr_context(settings)
    paging = settings.section("paging")
    call = paging.get("asterisk_call")
    context = str(call.get("context", "hotline-page-ack")) if isinstance(call, dict) else "hotline-page-ack"
    extensions = [ack_dialplan(context, sound_prefix=ctx.sound_prefix)]
    queues: list[str] = []
    voicemail: list[str] = []
    sounds: list[str] = [f"{ctx.sound_prefix}/{name.rsplit('/', 1)[-1]}\t{text}" for name, text in PAGE_PROMPTS.items()]
    for path in scripts:
        script = _load(path, ctx)
        if script is None:
            return None
        rendering = render_dialplan(_served(script, settings), ctx)
        extensions.append(rendering.extensions_conf)
        queues.append(rendering.queues_conf)
        if rendering.voicemail_conf:
            voicemail.append(rendering.voicemail_conf)
        sounds += [f"{ctx.sound_prefix}/{s.name}\t{s.text}" for s in rendering.sounds]
    return {
        "manager_hotline.conf": manager_conf(settings.ami.username),
        "extensions_hotline.conf": "\n".join(extensions),
        "queues_hotline.conf": "\n".join(queues),
        "voicemail_hotline.conf": "\n".join(voicemail),
        "sounds.txt": "".join(f"{line}\n" for line in dict.fromkeys(sounds)),
    }


PBX_STEPS = """; 安装步骤 / how to install (docs/asterisk.md):
;   manager_hotline.conf    -> /etc/asterisk/manager.conf (or manager.d/), `manager reload`
;   extensions_hotline.conf -> #include at the end of extensions.conf, `dialplan reload`;
;                              route the hotline DIDs to Goto(hotline-<script>,s,1)
;   queues_hotline.conf     -> #include AFTER the queues' own sections in queues.conf, `module reload app_queue.so`
;   voicemail_hotline.conf  -> voicemail.conf ([general] format = wav), `module reload app_voicemail.so`
;   sounds.txt              -> prompts: `hotline ivr sounds --out /var/lib/asterisk/sounds/<lang>/hotline`
"""


def cmd_pbx(args: argparse.Namespace, settings: Settings) -> int:
    files = pbx_files(settings, _scripts(args.files, settings))
    if files is None:
        return 1
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (out / name).write_text(text, encoding="utf-8")
        print(f"{len(files)} files -> {out}")
        print(PBX_STEPS, end="")
        return 0
    print(PBX_STEPS)
    for name, text in files.items():
        print(f";;;;;;;;;;;;;;;;;;;; {name}\n{text}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ivr = subparsers.add_parser("ivr", help="IVR 脚本 / IVR scripts: lint, render, sounds")
    sub = ivr.add_subparsers(dest="ivr_command", required=True, metavar="COMMAND")
    lint = sub.add_parser("lint", parents=[COMMON], help="检查脚本 / check scripts")
    lint.add_argument("files", nargs="*", metavar="FILE", help="脚本 / scripts (default ivr_scripts/*.yaml)")
    lint.set_defaults(func=cmd_lint)
    render = sub.add_parser("render", parents=[COMMON], help="生成 TwiML 或拨号计划 / render TwiML or dialplan")
    render.add_argument("file", nargs="?", default=None, metavar="FILE",
                        help="脚本 / script (default <scripts_dir>/default.yaml)")
    render.add_argument("--target", choices=("twiml", "asterisk"), required=True, help="目标 / what to render")
    render.add_argument("--window", choices=WINDOW_KINDS, default="onsite",
                        help="服务时段 / twiml: service window for time conditions (default onsite)")
    render.add_argument("--out", type=output_dir, help="输出目录 / write files into this directory instead of printing")
    render.set_defaults(func=cmd_render)
    sounds = sub.add_parser("sounds", parents=[COMMON], help="生成 Asterisk 提示音 / build Asterisk prompts")
    sounds.add_argument("files", nargs="*", metavar="FILE", help="脚本 / scripts (default ivr_scripts/*.yaml)")
    sounds.add_argument("--out", type=output_dir,
                        help="输出目录 / output directory (default <data_dir>/sounds/<sound_prefix>)")
    sounds.set_defaults(func=cmd_sounds)
    ack = sub.add_parser("page-ack", parents=[COMMON],
                         help="打印语音寻呼确认拨号方案 / print the voice page acknowledgement dialplan")
    ack.set_defaults(func=cmd_page_ack)
    pbx = sub.add_parser("pbx", parents=[COMMON],
                         help="打印 PBX 需要安装的全部内容 / print everything to install on the Asterisk PBX")
    pbx.add_argument("files", nargs="*", metavar="FILE", help="IVR 脚本 / IVR scripts (default ivr_scripts/*.yaml)")
    pbx.add_argument("--out", type=output_dir,
                     help="写入此目录 / write the files into this directory instead of printing")
    pbx.set_defaults(func=cmd_pbx)
