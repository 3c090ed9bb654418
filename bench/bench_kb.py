"""Knowledge-base query words: which way of cutting a Chinese query finds the right article.

The same search rule (articles with every word; if none, articles with any word, the most and longest words
first) over a desk's articles, with three ways of turning the query into words, side by side:
  unsegmented: split on spaces and punctuation only (the search before jieba: 打印机无法连接 is one word)
  bigrams:     every two-character piece of a Chinese run (what a trigram/bigram index would look up)
  jieba:       jieba's words (hotline/services/tickets/query_words.py)
Printed: the queries whose expected article comes first (hit@1) and comes back at all, jieba's dictionary
load and the cost of cutting one query.

    python bench/bench_kb.py
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ARTICLES = [  # title, text (problem, cause, solution)
    ("财务室打印机脱机", "打印机显示脱机 打印服务卡死 在打印机属性中取消脱机使用打印机 重启打印服务"),
    ("三楼打印机连接不上", "打印机 IP 地址变更 重新添加网络打印机端口"),
    ("VPN 无法连接", "证书过期 重新下发 VPN 证书"),
    ("无线网络连不上", "无线网络 连接失败 AP 故障 重启无线控制器"),
    ("邮箱密码重置", "密码过期 在自助门户重置密码并同步手机端"),
    ("电脑蓝屏", "驱动冲突 蓝屏 回滚显卡驱动"),
    ("共享盘无法访问", "权限变更 共享文件夹 重新授权"),
    ("OA 系统登录失败", "账号锁定 解锁账号 重置密码"),
    ("视频会议没有声音", "麦克风被禁用 音频设备 启用麦克风"),
    ("扫描仪无法扫描到文件夹", "扫描仪 共享文件夹 权限 重新设置扫描路径"),
    ("电话分机无法拨出", "分机 外线权限 开通外线"),
    ("显示器没有信号", "显示器 视频线松动 重新插拔视频线"),
]
QUERIES = [  # what people type, the article that should come first
    ("打印机无法连接", "三楼打印机连接不上"),
    ("打印机脱机了", "财务室打印机脱机"),
    ("打印机打不了字显示脱机", "财务室打印机脱机"),
    ("VPN连不上", "VPN 无法连接"),
    ("无线网连不上怎么办", "无线网络连不上"),
    ("邮箱密码忘了", "邮箱密码重置"),
    ("电脑突然蓝屏", "电脑蓝屏"),
    ("共享文件夹打不开", "共享盘无法访问"),
    ("OA登录不了", "OA 系统登录失败"),
    ("开会没声音", "视频会议没有声音"),
    ("扫描到文件夹失败", "扫描仪无法扫描到文件夹"),
    ("分机打不出去", "电话分机无法拨出"),
    ("显示器黑屏没信号", "显示器没有信号"),
    ("脱机", "财务室打印机脱机"),
]
_HAN = re.compile(r"[\u3400-\u9fff]+")


def unsegmented(q: str) -> list[str]:
    from hotline.services.tickets.query_words import split_words
    return split_words(q)


def bigrams(q: str) -> list[str]:
    from hotline.services.tickets.query_words import split_words
    out: dict[str, None] = {}
    for piece in split_words(q):
        rest = _HAN.sub(" ", piece).split()
        for w in rest:
            out.setdefault(w, None)
        for run in _HAN.findall(piece):
            for i in range(max(1, len(run) - 1)):
                out.setdefault(run[i:i + 2], None)
    return list(out)


def jieba_words(q: str) -> list[str]:
    from hotline.services.tickets.query_words import query_words
    return query_words(q)


def scores(words: list[str]) -> list[tuple[int, str]]:
    """(score, title) of every article matching a word, best first (the ranking of `search`)."""
    docs = [(t, (t + "\n" + x).lower()) for t, x in ARTICLES]
    return sorted(((sum(len(w) for w in words if w in d), t) for t, d in docs), key=lambda x: -x[0])


def search(words: list[str]) -> list[str]:
    docs = [(t, (t + "\n" + x).lower()) for t, x in ARTICLES]
    every = [t for t, d in docs if all(w in d for w in words)]
    if every:
        return every
    scored = [(sum(len(w) for w in words if w in d), t) for t, d in docs]
    return [t for s, t in sorted(scored, key=lambda x: -x[0]) if s > 0]


def main() -> None:
    import resource
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    jieba_words("打印机")
    load = time.perf_counter() - t0
    rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
    ways: dict[str, Callable[[str], list[str]]] = {"unsegmented": unsegmented, "bigrams": bigrams,
                                                    "jieba": jieba_words}
    for name, cut in ways.items():
        first = found = 0
        misses = []
        returned = []
        for q, want in QUERIES:
            got = search(cut(q))
            returned.append(len(got))
            first += bool(got) and got[0] == want
            found += want in got
            if not got or got[0] != want:
                misses.append(f"{q}->{got[0] if got else '-'}")
        print(f"{name:<12} hit@1 {first}/{len(QUERIES)}, found {found}/{len(QUERIES)}, articles returned per "
              f"query: mean {statistics.mean(returned):.1f} of {len(ARTICLES)}; not first: {', '.join(misses) or '-'}")
    for name in ("bigrams", "jieba"):
        top = scores(ways[name]("打印机无法连接"))[:2]
        tie = " (a tie: the order is luck)" if top[0][0] == top[1][0] else ""
        print(f"打印机无法连接 with {name}: {top[0][1]} {top[0][0]}, {top[1][1]} {top[1][0]}{tie}")
    times = []
    for _ in range(200):
        for q, _want in QUERIES:
            t = time.perf_counter()
            jieba_words(q)
            times.append((time.perf_counter() - t) * 1e6)
    print(f"jieba: dictionary load {load:.2f} s and {rss:.0f} MB (once, at the first query); cutting a query: "
          f"median {statistics.median(times):.0f} µs")


if __name__ == "__main__":
    main()
