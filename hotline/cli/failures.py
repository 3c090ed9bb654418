"""Expected failures of a command, said in one line (Chinese first, then English) with what to do.

`main()` turns these exceptions into that line and an exit status; nothing here prints a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # SQLAlchemy is imported when a URL is shown, not at every command's start
    from sqlalchemy.exc import DBAPIError

EXIT_USAGE = 2  # a value to fix: the command line, the config file or the environment
EXIT_DATABASE = 4  # the database could not be reached or opened

DATABASE_FIX = ("请用 --db 或 [database] url / HOTLINE_DATABASE_URL 指定, 例如 sqlite:///data/hotline.db 或 "
                "postgresql+psycopg://user@host/db / give a URL with --db or [database] url")


def shown_url(url: str) -> str:
    """The URL as it may appear in a message: any password replaced by ***."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def missing_database_file(url: str) -> str | None:
    """For a command that only reads: the SQLite file the URL names does not exist (a mistyped --db would
    otherwise be created empty, folders and all, and answer "0 tickets"); None when it exists or is no file."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from hotline.store.base import sqlite_file

    try:
        path = sqlite_file(make_url(url))
    except ArgumentError:
        return None  # the command reports a bad URL itself
    if path is None or str(path).startswith("file:") or path.exists():
        return None
    return (f"没有这个数据库文件 / no database file {path}: 请检查 --db 或 [database] url; 只读命令不会新建数据库, "
            f"hotline serve / demo 会 / check --db or [database] url (a command that only reads creates none; "
            f"serve and demo do)")


def database_url_problem(url: str, error: Exception) -> str:
    """A URL SQLAlchemy cannot use: not a URL at all (a bare path), or an unknown database kind."""
    if "://" not in url:
        return (f"数据库地址无效 / not a database URL: {url!r}; 文件请写 / for a file write "
                f"sqlite:///{url}")
    scheme = url.split("://", 1)[0]
    return f"不支持的数据库类型 / unsupported database {scheme!r} in {shown_url(url)!r}: {DATABASE_FIX}"


def database_unreachable(url: str, error: DBAPIError | ModuleNotFoundError) -> str:
    """The database did not answer, refused us, or its file cannot be opened."""
    if isinstance(error, ModuleNotFoundError):
        return (f"缺少数据库驱动 / the driver module {error.name!r} for {shown_url(url)!r} is not installed; "
                f"{DATABASE_FIX}")
    cause = str(getattr(error, "orig", None) or error).strip().splitlines()
    first = cause[0] if cause else type(error).__name__
    return (f"无法打开数据库 / cannot open the database {shown_url(url)!r}: {first}; "
            f"请检查数据库是否在运行、地址和权限 / check that it is running, the host, port and permissions "
            f"(--db or [database] url)")
