"""QR images of a link: a plain PNG, a path-based SVG, and a printable PNG card with a caption.

Images depend only on their arguments (and, for the card, on the font found on the machine), so
the caller can make each one once and cache the bytes (notes/performance.md: ~9 ms per image).
"""

from __future__ import annotations

import functools
import io
import logging
import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import qrcode
import qrcode.constants
import qrcode.image.svg
from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

# M restores 15% of the modules: enough for a creased or scuffed print while a ~75-character
# link still fits version 5 (37 x 37 modules), whose modules stay large on a small card.
ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_M
QUIET_ZONE = 4  # modules; ISO/IEC 18004 asks for 4
CARD_BOX_SIZE = 12
CARD_MIN_WIDTH = 600
# (size, smallest size) in pixels: the caption shrinks before it is cut, since it says what to do.
TITLE_SIZE, NUMBER_SIZE, CAPTION_SIZE = (36, 36), (30, 30), (26, 18)

FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path(os.path.expanduser("~/.local/share/fonts")),  # noqa: PTH111 - unlike Path.home(), never raises
    Path(os.path.expanduser("~/.fonts")),  # noqa: PTH111
    Path("/Library/Fonts"),
    Path("/System/Library/Fonts"),
)
# File names of fonts with Simplified Chinese glyphs, best first (Debian/Ubuntu, Alpine, RHEL, macOS).
CJK_FONT_FILES = (
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJKsc-Regular.otf",
    "NotoSansSC-Regular.otf",
    "NotoSansSC-Regular.ttf",
    "SourceHanSansSC-Regular.otf",
    "SourceHanSans-Regular.ttc",
    "wqy-microhei.ttc",
    "wqy-zenhei.ttc",
    "DroidSansFallbackFull.ttf",
    "PingFang.ttc",
    "Hiragino Sans GB.ttc",
)


def png(url: str, box_size: int = 10) -> bytes:
    """A plain QR code of `url` as PNG, `box_size` pixels per module, with the quiet zone."""
    if not 1 <= box_size <= 100:
        raise ValueError(f"box_size out of range: {box_size}")
    return _encode_png(_qr_image(url, box_size))


def svg(url: str) -> str:
    """A QR code of `url` as a standalone SVG document: one path on a white square, nothing external."""
    code = _qr(url, box_size=10)
    image: Any = code.make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    return str(image.to_string(encoding="unicode"))


def png_card(url: str, *, title: str, number: str, caption: str, font_dirs: Sequence[Path] = FONT_DIRS) -> bytes:
    """A printable card: the QR code of `url`, then the petition's title, its number and a caption.

    Without a CJK font in `font_dirs`, lines that are not plain ASCII are left out (logged once).
    """
    code = _qr_image(url, CARD_BOX_SIZE).convert("L")
    width = max(code.width, CARD_MIN_WIDTH)
    margin = QUIET_ZONE * CARD_BOX_SIZE
    text_width = width - 2 * margin
    font_file = _find_cjk_font(tuple(font_dirs))

    lines: list[tuple[str, Font]] = []
    for text, (size, smallest) in ((title, TITLE_SIZE), (number, NUMBER_SIZE), (caption, CAPTION_SIZE)):
        text = _one_line(text)
        if not text or (font_file is None and not text.isascii()):
            continue
        for points in range(size, smallest - 1, -2):
            font = _font(font_file, points)
            if font.getlength(text) <= text_width:
                break
        lines.append((_clip(text, font, text_width, cjk=font_file is not None), font))

    heights = [round(_size(font) * 1.5) for _, font in lines]
    card = Image.new("L", (width, code.height + sum(heights) + (margin if lines else 0)), 255)
    card.paste(code, ((width - code.width) // 2, 0))
    draw = ImageDraw.Draw(card)
    y = code.height  # the code's own quiet zone separates it from the text
    for (text, font), height in zip(lines, heights, strict=True):
        draw.text(((width - draw.textlength(text, font=font)) / 2, y), text, font=font, fill=0)
        y += height
    return _encode_png(card)


def _qr(url: str, box_size: int) -> Any:
    if not isinstance(url, str) or not url:
        raise ValueError("url must be a non-empty string")
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, box_size=box_size, border=QUIET_ZONE)
    code.add_data(url, optimize=0)  # one byte-mode segment: what every scanner reads the same way
    code.make(fit=True)
    return code


def _qr_image(url: str, box_size: int) -> Image.Image:
    image: Image.Image = _qr(url, box_size).make_image().get_image()
    return image


def _encode_png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _one_line(text: str) -> str:
    """Collapse whitespace and drop control and format characters (a caption is a single line)."""
    text = "".join(ch for ch in text if ch.isspace() or unicodedata.category(ch)[0] != "C")
    return " ".join(text.split())


def _clip(text: str, font: Font, width: int, *, cjk: bool) -> str:
    """`text`, cut and ended with an ellipsis if it is wider than `width` pixels."""
    if font.getlength(text) <= width:
        return text
    ellipsis = "…" if cjk else "..."
    low, high = 0, len(text)  # the longest prefix that fits, by bisection
    while low < high:
        mid = (low + high + 1) // 2
        if font.getlength(text[:mid].rstrip() + ellipsis) <= width:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + ellipsis


def _size(font: Font) -> float:
    return font.size if isinstance(font, ImageFont.FreeTypeFont) else 11


@functools.cache
def _font(font_file: tuple[Path, int] | None, size: int) -> Font:
    """The CJK face at `size`, or Pillow's bundled Latin font when there is none."""
    if font_file is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(str(font_file[0]), size, index=font_file[1])


def cjk_font(font_dirs: Sequence[Path] = FONT_DIRS) -> Path | None:
    """The CJK font file cards are drawn with, if one is installed and loads; None when cards would lack Chinese."""
    found = _find_cjk_font(tuple(font_dirs))
    if found is None:
        return None
    try:
        with found[0].open("rb") as handle:  # a file, not a name: Pillow would look a name up in other folders
            ImageFont.truetype(handle, 12, index=found[1])
    except OSError:
        return None
    return found[0]


@functools.cache
def _find_cjk_font(dirs: tuple[Path, ...]) -> tuple[Path, int] | None:
    """The first known CJK font file under `dirs` and its Simplified Chinese face; logged once if none."""
    found: dict[str, Path] = {}
    for root in dirs:
        if root.is_dir():
            for path in sorted(root.rglob("*")):
                found.setdefault(path.name, path)
    for name in CJK_FONT_FILES:
        if name in found:
            return found[name], _simplified_face(found[name])
    log.warning("no CJK font found under %s; QR cards are drawn without Chinese text", ", ".join(map(str, dirs)))
    return None


def _simplified_face(path: Path) -> int:
    """The index of the Simplified Chinese face in a font collection (its family ends in SC), else 0."""
    for index in range(16):
        try:
            family, _ = ImageFont.truetype(str(path), 12, index=index).getname()
        except OSError:
            break
        if family is not None and (family.endswith(" SC") or family.endswith(" GB")):
            return index
    return 0
