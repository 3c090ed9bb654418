"""`hotline users add|list|disable|reset-password|token`: accounts on the command line (the admin's tool)."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from hotline.cli import COMMON
from hotline.config import Settings
from hotline.domain.access import Role

if TYPE_CHECKING:  # the services load when a command runs, not for `--help` (bench/bench_cli_startup.py)
    from hotline.services.access.accounts import AccountService
    from hotline.services.access.sessions import TokenService


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = sub.add_parser("users", parents=[COMMON], help="账号与角色 / accounts and roles")
    users.add_argument("--db", help="数据库地址 / database URL (default from config)")
    cmds = users.add_subparsers(dest="users_command", required=True)
    roles = [r.value for r in Role]

    add = cmds.add_parser("add", parents=[COMMON], help="新增账号 / add an account")
    add.add_argument("username", help="用户名 / user name")
    add.add_argument("--role", required=True, choices=roles, help="角色 / role")
    add.add_argument("--person", help="the roster person this account is (值班表中的姓名)")
    add.add_argument("--password-stdin", action="store_true",
                     help="从标准输入读取密码 / read the password from standard input")
    add.add_argument("--sso-only", action="store_true",
                     help="无密码，仅单点登录 / no password: signs in through [oidc] only")
    add.add_argument("--db", default=argparse.SUPPRESS, help="数据库地址 / database URL")
    add.set_defaults(func=cmd_add)

    ls = cmds.add_parser("list", parents=[COMMON], help="账号列表 / list accounts")
    ls.add_argument("--db", default=argparse.SUPPRESS, help="数据库地址 / database URL")
    ls.set_defaults(func=cmd_list)

    dis = cmds.add_parser("disable", parents=[COMMON], help="停用账号 / disable an account")
    dis.add_argument("username", help="用户名 / user name")
    dis.add_argument("--db", default=argparse.SUPPRESS, help="数据库地址 / database URL")
    dis.set_defaults(func=cmd_disable)

    reset = cmds.add_parser("reset-password", parents=[COMMON], help="重置密码 / set a new password")
    reset.add_argument("username", help="用户名 / user name")
    reset.add_argument("--password-stdin", action="store_true",
                       help="从标准输入读取密码 / read the password from standard input")
    reset.add_argument("--db", default=argparse.SUPPRESS, help="数据库地址 / database URL")
    reset.set_defaults(func=cmd_reset)

    tok = cmds.add_parser("token", parents=[COMMON], help="API 令牌 / personal API tokens")
    tok.add_argument("action", choices=["add", "list", "revoke"], help="操作 / add, list or revoke")
    tok.add_argument("target", nargs="?", help="用户名或令牌编号 / add/list: user name; revoke: token id")
    tok.add_argument("--name", default="script", help="令牌用途 / add: what the token is for")
    tok.add_argument("--scope", choices=roles, help="令牌最高角色 / add: the highest role the token acts with")
    tok.add_argument("--db", default=argparse.SUPPRESS, help="数据库地址 / database URL")
    tok.set_defaults(func=cmd_token)


def _services(args: argparse.Namespace, settings: Settings) -> tuple[AccountService, TokenService]:
    from hotline.clock import SystemClock
    from hotline.runtime.assembly import open_database
    from hotline.services.access.accounts import AccountService
    from hotline.services.access.sessions import TokenService
    from hotline.services.roster.service import RosterService

    db = open_database(getattr(args, "db", None) or settings.database_url)
    clock = SystemClock(settings.tz)
    roster = RosterService(db.factory, settings, clock)
    actor = f"cli:{getpass.getuser()}"
    return (AccountService(db.factory, clock, people=lambda: roster.people(), actor=actor),
            TokenService(db.factory, clock, actor=actor))


def _password(args: argparse.Namespace) -> str:
    from hotline.services.access.accounts import AccountError

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("密码 / password: ")
    if getpass.getpass("再次输入 / again: ") != first:
        raise AccountError("两次输入的密码不同 / the two passwords differ")
    return first


def _run(func: object) -> int:
    from hotline.services.access.accounts import AccountError

    try:
        assert callable(func)
        func()
    except AccountError as e:
        print(f"错误 / error: {e}", file=sys.stderr)
        return 2
    return 0


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    accounts, _ = _services(args, settings)

    def add() -> None:
        password = None if args.sso_only else _password(args)
        account = accounts.add(args.username, args.role, password, args.person)
        print(f"已添加 added {account.username} ({account.role}, {account.person or '-'})")

    return _run(add)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    accounts, _ = _services(args, settings)
    for a in accounts.list():
        state = "停用 disabled" if a.disabled else "启用 active"
        print(f"{a.username:<16} {a.role.value:<11} {a.person or '-':<10} {state}")
    return 0


def cmd_disable(args: argparse.Namespace, settings: Settings) -> int:
    accounts, _ = _services(args, settings)
    return _run(lambda: print(f"已停用 disabled {accounts.disable(args.username).username}"))


def cmd_reset(args: argparse.Namespace, settings: Settings) -> int:
    accounts, _ = _services(args, settings)

    def reset() -> None:
        accounts.reset_password(args.username, _password(args))
        print(f"已重置 password reset for {args.username}; 其会话已结束 / their sessions ended")

    return _run(reset)


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    from hotline.services.access.accounts import AccountError

    _, tokens = _services(args, settings)

    def act() -> None:
        if args.action == "list":
            for t in tokens.list(args.target):
                state = "已吊销 revoked" if t.revoked_at else "有效 active"
                print(f"{t.token_id:>4} {t.username:<16} {t.scope.value:<11} {t.name:<20} {state}")
        elif not args.target:
            raise AccountError("需要用户名或令牌编号 / give a user name (add) or a token id (revoke)")
        elif args.action == "add":
            token, info = tokens.issue(args.target, args.name, args.scope)
            print(f"令牌 {info.token_id} ({info.scope.value}) 只显示这一次 / shown this once:", file=sys.stderr)
            print(token)
        else:
            if not args.target.isdigit():
                raise AccountError(f"令牌编号应为数字 / a token id is a number, got {args.target!r}")
            print(f"已吊销 revoked token {tokens.revoke(int(args.target)).token_id}")

    return _run(act)
