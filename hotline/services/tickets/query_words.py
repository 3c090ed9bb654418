"""The words of a knowledge-base query. Spaces and punctuation split it; each run of Chinese is segmented into
words with jieba (its dictionary and HMM for unknown words), so `打印机无法连接` is looked up as 打印机 / 无法 /
连接 rather than as one string no article contains. Particles and question words (的, 了, 怎么办 ...) are
dropped; Latin words are kept whole, lower case. The dictionary loads on the first query (one to a few
seconds, 80 MB), or in the background when the staff screens (/tickets) are opened."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable

_SPLIT = re.compile(r"[\s,，。；;、:：!！?？/()（）\[\]【】\"'“”‘’]+")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# words a query carries that say nothing about the problem
STOP_WORDS = frozenset({
    "的", "了", "吗", "呢", "啊", "吧", "呀", "嘛", "是", "在", "和", "与", "及", "或", "也", "都",
    "就", "还", "又", "把", "被", "让", "给", "我", "你", "他", "她", "它", "我们", "你们", "他们",
    "请", "请问", "一下", "怎么", "怎么办", "怎样", "如何", "为什么", "什么", "哪里", "能否",
    "可以", "是否", "一直", "突然", "总是",
})

_lock = threading.Lock()
_cut: Callable[[str], list[str]] | None = None


def _segmenter() -> Callable[[str], list[str]]:
    global _cut
    with _lock:
        if _cut is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict" lines in our logs
            jieba.initialize()
            _cut = jieba.lcut
        return _cut


def load_in_background() -> None:
    """Load the dictionary in a daemon thread (the staff screens do when opened: the first search need not
    wait); once loaded, this does nothing."""
    if _cut is not None:
        return
    threading.Thread(target=_segmenter, name="kb-words", daemon=True).start()


def split_words(text: str) -> list[str]:
    """Split on spaces and punctuation only (tags, a query's explicit words), lower case, each once."""
    seen: dict[str, None] = {}
    for t in _SPLIT.split(text.strip().lower()):
        if t:
            seen.setdefault(t, None)
    return list(seen)


def query_words(query: str) -> list[str]:
    """The words to look up for `query`: split, Chinese runs segmented, stop words dropped, each once (a
    query made only of stop words keeps them, so that it still looks something up)."""
    seen: dict[str, None] = {}
    for piece in split_words(query):
        if not _HAN.search(piece):
            seen.setdefault(piece, None)
            continue
        for word in _segmenter()(piece):
            word = word.strip()
            if word and not _SPLIT.fullmatch(word):
                seen.setdefault(word, None)
    words = [w for w in seen if w not in STOP_WORDS]
    return words or list(seen)
