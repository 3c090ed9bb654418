"""Text files the desk hands us (analysis notes, recorded sessions) are UTF-8; one saved in another encoding
(GBK from a Chinese Windows editor, most often) is named with its line and what to do, not a codec error."""

from __future__ import annotations

_BOM = b"\xef\xbb\xbf"


class NotUtf8Error(ValueError):
    """Bytes that are not UTF-8 text; the message names the file and the line."""

    def __init__(self, where: str, line: int, byte: int) -> None:
        self.where, self.line, self.byte = where, line, byte
        super().__init__(f"{where}: 第 {line} 行不是 UTF-8 文本（可能是 GBK 编码），请将文件另存为 UTF-8 / line {line} "
                         f"is not UTF-8 text (byte 0x{byte:02x}; GBK perhaps): save the file as UTF-8")


def utf8_text(data: bytes, where: str) -> str:
    """`data` decoded as UTF-8 (a leading byte-order mark dropped, as Windows Notepad writes one)."""
    try:
        return data.removeprefix(_BOM).decode("utf-8")
    except UnicodeDecodeError as e:
        body = data.removeprefix(_BOM)
        raise NotUtf8Error(where, body.count(b"\n", 0, e.start) + 1, body[e.start]) from None
