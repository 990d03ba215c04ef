"""QR images, read back with an independent decoder (zxing-cpp) at card and poster sizes."""

from __future__ import annotations

import io
import logging
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from qr import images

URL = "https://petitions.acity.gov.cn/j/123456.1767225600.k1.Xy3Rk0bq5PZ2mQ9wL0sE1A"
LONGEST = "https://petitions.acity.gov.cn/j/9223372036854775807.253402300799.kkkkkkkkkkkkkkkk.Xy3Rk0bq5PZ2mQ9wL0sE1A"
TITLE = "关于幸福小区冬季供暖不达标、室温长期低于十六度的联名反映，请相关部门尽快处理"
NUMBER = "No. J2026-000123"
CAPTION = "扫码联名：用微信或支付宝扫一扫，确认后即签上你的名字"
HAS_CJK_FONT = images._find_cjk_font(images.FONT_DIRS) is not None


def decode(image: Image.Image) -> str:
    """The one QR code zxing-cpp finds in the image; its error-correction level must be M."""
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1, f"{len(found)} codes found"
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    assert found[0].valid and found[0].ec_level == "M"
    return found[0].text


def open_png(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def card(url: str = URL, *, title: str = TITLE, number: str = NUMBER, caption: str = CAPTION) -> bytes:
    return images.png_card(url, title=title, number=number, caption=caption)


def dark_rows(image: Image.Image, top: int) -> int:
    """How many pixel rows below `top` hold any ink (text lines drawn under the code)."""
    grey = image.convert("L")
    return sum(1 for y in range(top, grey.height) if min(grey.crop((0, y, grey.width, y + 1)).tobytes()) < 128)


# ---------------------------------------------------------------------------- plain PNG


@pytest.mark.parametrize("url", [URL, LONGEST, "http://127.0.0.1:8000/j/1.2.k.AAAAAAAAAAAAAAAAAAAAAA"])
def test_plain_png_decodes_to_the_url(url: str) -> None:
    assert decode(open_png(images.png(url))) == url


def test_plain_png_box_size_and_quiet_zone() -> None:
    small, large = open_png(images.png(URL, box_size=4)), open_png(images.png(URL, box_size=10))
    assert large.width == large.height == small.width * 10 // 4
    modules = large.width // 10
    assert modules in (45, 49)  # version 5 or 6 plus 2 x 4 quiet modules
    border = large.convert("L").crop((0, 0, large.width, 40))  # 4 modules of quiet zone, all white
    assert border.getextrema() == (255, 255)
    assert decode(small) == URL


def test_plain_png_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        images.png(URL, box_size=0)
    with pytest.raises(ValueError):
        images.png("")


# ---------------------------------------------------------------------------- card


def test_card_decodes_to_the_url() -> None:
    image = open_png(card())
    assert image.width >= images.CARD_MIN_WIDTH and image.height > image.width
    assert decode(image) == URL
    assert decode(open_png(card(LONGEST))) == LONGEST


@pytest.mark.parametrize("width", [None, 300])
def test_card_decodes_at_poster_sizes(width: int | None) -> None:
    image = open_png(card())
    if width is None:  # blown up for a poster
        scaled = image.resize((image.width * 3, image.height * 3), Image.Resampling.BICUBIC)
    else:  # shrunk to a thumbnail, as on a phone screen or a receipt
        scaled = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
    assert decode(scaled) == URL


@pytest.mark.skipif(not HAS_CJK_FONT, reason="no CJK font installed (apt-get install fonts-noto-cjk)")
def test_card_draws_three_lines_of_text() -> None:
    full = open_png(card())
    without_text = open_png(card(title="", number="", caption=""))
    qr_height = without_text.height
    assert open_png(images.png(URL, box_size=images.CARD_BOX_SIZE)).height == qr_height
    assert full.height > qr_height + 3 * 26
    assert dark_rows(full, qr_height) > 3 * 18  # three lines of ink under the code
    assert dark_rows(open_png(card(caption="")), qr_height) < dark_rows(full, qr_height)


def test_long_and_hostile_text_is_clipped_to_the_card() -> None:
    long_card = open_png(card(title=TITLE * 20, caption=CAPTION * 20, number="N" * 300))
    short_card = open_png(card())
    assert long_card.size == short_card.size
    assert decode(long_card) == URL
    weird = open_png(card(title="第一行\n第二行\t\x00\u202e尾", number="\r\n 7 \n", caption="\u200b"))
    assert weird.width == short_card.width and decode(weird) == URL


def test_card_without_a_cjk_font_draws_ascii_only_and_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "not-a-font.txt").write_text("x")
    with caplog.at_level(logging.WARNING, logger="qr.images"):
        bare = open_png(images.png_card(URL, title=TITLE, number=NUMBER, caption=CAPTION, font_dirs=[tmp_path]))
        again = images.png_card(URL, title=TITLE, number=NUMBER, caption=CAPTION, font_dirs=[tmp_path])
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "no CJK font" in caplog.records[0].getMessage()
    assert decode(bare) == URL
    assert open_png(again).tobytes() == bare.tobytes()
    code_only = open_png(images.png_card(URL, title="", number="", caption="", font_dirs=[tmp_path]))
    assert bare.height > code_only.height  # the number is still printed
    assert dark_rows(bare, code_only.height) > 10
    english = open_png(images.png_card(URL, title="Heating", number=NUMBER, caption="Scan", font_dirs=[tmp_path]))
    assert english.height > bare.height


# ---------------------------------------------------------------------------- SVG

SVG_NS = "{http://www.w3.org/2000/svg}"
FORBIDDEN_IN_SVG = (
    "<script",
    "<foreignobject",
    "<image",
    "<use",
    "<style",
    "<!doctype",
    "<!entity",
    "<?xml-stylesheet",
)


def test_svg_is_well_formed_and_self_contained() -> None:
    text = images.svg(URL)
    root = ET.fromstring(text)
    assert root.tag == SVG_NS + "svg"
    tags = {element.tag for element in root.iter()}
    assert tags <= {SVG_NS + "svg", SVG_NS + "path", SVG_NS + "rect"}, tags
    for element in root.iter():
        for name, value in element.attrib.items():
            assert "href" not in name.lower(), name
            assert not name.lower().startswith("on"), name
            assert "url(" not in value and "javascript:" not in value.lower()
    lowered = text.lower()
    for forbidden in FORBIDDEN_IN_SVG:
        assert forbidden not in lowered


def test_svg_path_draws_the_same_code() -> None:
    """Rasterise the SVG's path by hand and read it back, so the SVG is checked, not only parsed."""
    root = ET.fromstring(images.svg(URL))
    paths = [element.attrib["d"] for element in root.iter(SVG_NS + "path")]
    assert len(paths) == 1
    squares = re.findall(r"M(\d+),(\d+)H(\d+)V(\d+)H(\d+)z", paths[0])
    assert "".join(f"M{x},{y}H{x2}V{y2}H{x3}z" for x, y, x2, y2, x3 in squares) == paths[0]
    size = int(root.attrib["viewBox"].split()[2])
    scale = 8
    image = Image.new("L", (size * scale, size * scale), 255)
    draw = ImageDraw.Draw(image)
    for x, y, x2, y2, _ in squares:
        draw.rectangle((int(x) * scale, int(y) * scale, int(x2) * scale - 1, int(y2) * scale - 1), fill=0)
    assert decode(image) == URL


# ---------------------------------------------------------------------------- determinism


def test_images_are_deterministic() -> None:
    assert images.png(URL) == images.png(URL)
    assert images.svg(URL) == images.svg(URL)
    assert card() == card()
    other = URL.replace("123456", "123457")
    assert images.png(other) != images.png(URL)
    assert images.svg(other) != images.svg(URL)
    assert card(other) != card()
    assert card(number="No. J2026-000124") != card()
