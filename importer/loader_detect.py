"""What a file really is, from its bytes: a text export, a workbook kind, or something to refuse.

Exports get renamed, Teams writes UTF-16 tab-separated text into a ``.csv``, and a failed download is
often a web page, so the name is never trusted.  Zips and Office containers are judged from their
directories alone: nothing is extracted before the zip-bomb bounds pass.
"""

from __future__ import annotations

import codecs
import stat
import struct
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from .errors import InputError
from .loader_grid import SNIFF_BYTES

# Zip-bomb bounds, checked on the zip directory before any reader sees the workbook.
ZIP_MAX_TOTAL = 2**30
ZIP_MAX_EXPANSION = 100
ZIP_EXPANSION_FLOOR = 200 * 2**20
ZIP_MAX_MEMBER_RATIO = 1000
ZIP_RATIO_FLOOR = 50 * 2**20

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_NOT_DATA = "not a spreadsheet: download the attendee report again as CSV or XLSX"
_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"BZh", "a bzip2-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
)
# Bytes that never occur in a text export; NUL is handled separately (stripped with a note).
_CONTROL_BYTES = bytes([*range(1, 9), 11, *range(14, 26), *range(27, 32)])  # not 0x1A, the DOS end-of-file mark


def check_file(p: Path, file: str) -> int:
    try:
        st = p.stat()
    except FileNotFoundError:
        raise InputError(f"{file} does not exist: check the file name and folder.") from None
    except OSError as exc:
        raise InputError(f"{file} cannot be opened ({exc.strerror}).") from None
    if p.is_dir():
        raise InputError(f"{file} is a folder, not a file: give the path of the attendee export inside it.")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{file} is not a regular file (a FIFO, device or socket): save the export as a file first.")
    if st.st_size == 0:
        raise InputError(f"{file} is empty (0 bytes): download the attendee report again.")
    return st.st_size


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 2**20:
        return f"{n / 1024:.1f} KB"
    if n < 2**30:
        return f"{n / 2**20:.1f} MB"
    return f"{n / 2**30:.2f} GB"


def read_head(p: Path, file: str, n: int = SNIFF_BYTES) -> bytes:
    try:
        with p.open("rb") as fh:
            return fh.read(n)
    except OSError as exc:
        raise InputError(f"{file} cannot be read ({exc.strerror}).") from None


def detect_kind(p: Path, file: str, size: int) -> str:
    """Name the real format from the first bytes: ``csv``, ``xlsx``, ``xlsb``, ``ods`` or ``xls``."""
    head = read_head(p, file)
    for magic, what in _MAGICS:
        if head.startswith(magic):
            raise InputError(f"{file} is {what}, {_NOT_DATA}.")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        raise InputError(f"{file} is a WebP image, {_NOT_DATA}.")
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return _zip_kind(p, file, size)
    if head.startswith(OLE2_MAGIC):
        return _ole_kind(p, file)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or utf16_without_bom(head):
        return "csv"
    text = head.lstrip(codecs.BOM_UTF8).lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<table")) or (
        text.startswith(b"<") and b"<html" in text[:2048]
    ):
        raise InputError(
            f"{file} is a web page (HTML), not a spreadsheet: the download probably failed or needs a login; "
            "download the attendee report again as CSV or XLSX, or open the file in Excel and save it as XLSX."
        )
    if text.startswith(b"<?xml"):
        if b"urn:schemas-microsoft-com:office:spreadsheet" in head:
            raise InputError(
                f"{file} is an Excel 2003 XML spreadsheet, which cannot be read: open it in Excel and save it "
                "as XLSX (File > Save As > Excel Workbook)."
            )
        raise InputError(f"{file} is an XML file, {_NOT_DATA}.")
    sample = head.replace(b"\x00", b"")
    if sample and len(sample) - len(sample.translate(None, _CONTROL_BYTES)) > max(2, len(sample) // 100):
        raise InputError(
            f"{file} is not a spreadsheet or CSV file (it contains binary data): "
            "download the attendee report again as CSV or XLSX."
        )
    return "csv"


def numbers_error(file: str) -> InputError:
    """Apple Numbers keeps its sheets in a format no reader here knows; the user can export it."""
    return InputError(
        f"{file} is an Apple Numbers file, which cannot be read: open it in Numbers and choose "
        "File > Export To > CSV (or Excel), then import the exported file."
    )


def utf16_without_bom(head: bytes) -> bool:
    """UTF-16 text without a byte-order mark: ASCII characters leave a NUL in every other byte."""
    sample = head[:4096]
    if len(sample) < 8 or b"\x00" not in sample:
        return False
    even, odd = sample[0::2], sample[1::2]
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
    return (odd_nul > 0.4 and even_nul < 0.05) or (even_nul > 0.4 and odd_nul < 0.05)


def _zip_kind(p: Path, file: str, size: int) -> str:
    """Tell a workbook from other zips, and refuse zip bombs from the directory alone (nothing is extracted)."""
    try:
        with zipfile.ZipFile(p) as zf:
            infos = zf.infolist()
            names = {i.filename.lower(): i for i in infos}
            _check_zip_bomb(file, size, infos)
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "xl/workbook.bin" in names:
                return "xlsb"
            mimetype = b""
            info = names.get("mimetype")
            if info is not None and info.file_size <= 200:
                mimetype = zf.read(info).strip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError, OSError):
        raise InputError(
            f"{file} is damaged or incomplete (the download may have been cut short): download it again."
        ) from None
    if mimetype == b"application/vnd.oasis.opendocument.spreadsheet":
        return "ods"
    if any(n.startswith("index/") and n.endswith(".iwa") for n in names) or "index.zip" in names:
        raise numbers_error(file)
    if "word/document.xml" in names or mimetype == b"application/vnd.oasis.opendocument.text":
        raise InputError(f"{file} is a word-processing document, {_NOT_DATA}.")
    if "ppt/presentation.xml" in names or mimetype == b"application/vnd.oasis.opendocument.presentation":
        raise InputError(f"{file} is a presentation, {_NOT_DATA}.")
    inside = [i.filename for i in infos if i.filename.lower().endswith((".csv", ".xlsx", ".xls", ".ods", ".tsv"))]
    if inside:
        listed = ", ".join(inside[:3]) + (", ..." if len(inside) > 3 else "")
        raise InputError(f"{file} is a zip archive, not a spreadsheet: unzip it and give the file inside ({listed}).")
    raise InputError(f"{file} is a zip archive with no spreadsheet in it: download the attendee report as CSV or XLSX.")


def _check_zip_bomb(file: str, size: int, infos: Sequence[zipfile.ZipInfo]) -> None:
    total = sum(i.file_size for i in infos)
    absurd_member = any(
        i.file_size > ZIP_RATIO_FLOOR and i.file_size > ZIP_MAX_MEMBER_RATIO * max(i.compress_size, 1) for i in infos
    )
    if total > ZIP_MAX_TOTAL or (total > ZIP_EXPANSION_FLOOR and total > ZIP_MAX_EXPANSION * size) or absurd_member:
        raise InputError(
            f"{file} would unpack to {human_size(total)} from {human_size(size)}, which is not a normal "
            "spreadsheet (possibly a zip bomb): it was not opened; export the attendee report again."
        )


def _ole_kind(p: Path, file: str) -> str:
    """An OLE2 container is an old ``.xls``, or a password-protected ``.xlsx`` (EncryptionInfo stream)."""
    try:
        with p.open("rb") as fh:
            names = _cfb_stream_names(fh)
    except (OSError, ValueError, struct.error):
        names = None
    if names is None:
        raise InputError(
            f"{file} is a damaged or incomplete Office file: download it again, "
            "or open it in Excel and save it as XLSX."
        )
    lowered = {n.lower() for n in names}
    if "encryptioninfo" in lowered or "encryptedpackage" in lowered:
        raise password_error(file)
    if "workbook" in lowered or "book" in lowered:
        return "xls"
    if "worddocument" in lowered:
        raise InputError(f"{file} is a Word document, {_NOT_DATA}.")
    if "powerpoint document" in lowered:
        raise InputError(f"{file} is a PowerPoint presentation, {_NOT_DATA}.")
    raise InputError(f"{file} is an Office file that holds no workbook, {_NOT_DATA}.")


def password_error(file: str) -> InputError:
    return InputError(
        f"{file} is password-protected: open it in Excel, remove the password "
        "(File > Info > Protect Workbook > Encrypt with Password, clear it) and save it again."
    )


def _cfb_stream_names(fh: BinaryIO) -> set[str] | None:
    """Names in a Compound File Binary directory (MS-CFB), read sector by sector; ``None`` if malformed."""
    header = fh.read(512)
    if len(header) < 512 or not header.startswith(OLE2_MAGIC):
        return None
    fh.seek(0, 2)
    file_size = fh.tell()
    shift = struct.unpack_from("<H", header, 0x1E)[0]
    if shift not in (9, 12):
        return None
    sector = 1 << shift
    n_sectors = max(0, file_size // sector - 1)
    first_dir, _, _, _, first_difat, n_difat = struct.unpack_from("<IIIIII", header, 0x30)

    def read_sector(sid: int) -> bytes:
        if sid >= n_sectors:
            raise ValueError("sector out of range")
        fh.seek((sid + 1) * sector)
        data = fh.read(sector)
        if len(data) < sector:
            raise ValueError("short sector")
        return data

    fat_ids = [s for s in struct.unpack_from("<109I", header, 0x4C) if s < n_sectors]
    difat, seen = first_difat, 0
    while difat < n_sectors and seen < n_difat and seen <= n_sectors:
        block = struct.unpack(f"<{sector // 4}I", read_sector(difat))
        fat_ids.extend(s for s in block[:-1] if s < n_sectors)
        difat, seen = block[-1], seen + 1
    fat: list[int] = []
    for sid in fat_ids:
        fat.extend(struct.unpack(f"<{sector // 4}I", read_sector(sid)))
    names: set[str] = set()
    sid, steps = first_dir, 0
    while sid < n_sectors and steps <= n_sectors:
        directory = read_sector(sid)
        for off in range(0, sector, 128):
            entry = directory[off : off + 128]
            name_len = struct.unpack_from("<H", entry, 0x40)[0]
            if entry[0x42] in (1, 2, 5) and 2 <= name_len <= 64:
                names.add(entry[: name_len - 2].decode("utf-16-le", "replace"))
        sid = fat[sid] if sid < len(fat) else n_sectors
        steps += 1
    return names or None
