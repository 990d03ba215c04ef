"""Uploaded photos: the bytes decide the type, limits hold, and the store names files itself."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from gateway.uploads import LocalFolderStore, PhotoRefused, check_photo, content_type
from tickets.errors import NotFound

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def encoded(image: Image.Image, kind: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()


def test_jpeg_and_png_pass_with_their_own_type() -> None:
    jpeg = encoded(Image.new("RGB", (40, 30), "red"), "JPEG")
    png = encoded(Image.new("RGB", (20, 10), "blue"), "PNG")
    assert (check_photo(jpeg, 10_000).extension, check_photo(png, 10_000).extension) == ("jpg", "png")
    assert (check_photo(jpeg, 10_000).width, check_photo(png, 10_000).height) == (40, 10)
    assert (content_type("jpg"), content_type("png"), content_type("exe")) == (
        "image/jpeg", "image/png", "application/octet-stream")


@pytest.mark.parametrize(("data", "reason"), [
    (b"GIF89a" + b"\x00" * 100, "not_image"),
    (encoded(Image.new("RGB", (8, 8)), "GIF"), "not_image"),
    (encoded(Image.new("RGB", (8, 8)), "BMP"), "not_image"),
    (b"\xff\xd8\xff" + encoded(Image.new("RGB", (8, 8)), "PNG"), "not_image"),  # JPEG magic, PNG inside
    (encoded(Image.new("RGB", (300, 300)), "JPEG")[:300], "not_image"),  # cut short
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not_image"),
])
def test_anything_else_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(PhotoRefused) as refused:
        check_photo(data, 100_000)
    assert refused.value.reason == reason


def test_size_and_pixel_limits() -> None:
    jpeg = encoded(Image.new("RGB", (40, 30), "red"), "JPEG")
    with pytest.raises(PhotoRefused, match="too_large"):
        check_photo(jpeg, len(jpeg) - 1)
    bomb = encoded(Image.new("1", (10_000, 5_000)), "PNG")  # a few kB that would decode to 50 megapixels
    assert len(bomb) < 100_000
    with pytest.raises(PhotoRefused, match="too_large"):
        check_photo(bomb, 100_000)


def test_the_store_keeps_and_removes_files_under_its_own_keys(tmp_path: Path) -> None:
    store = LocalFolderStore(tmp_path / "uploads")
    key = store.put(b"\xff\xd8\xffdata", "jpg", NOW)
    assert key.startswith("2026/11/") and key.endswith(".jpg")
    assert store.read(key) == b"\xff\xd8\xffdata"
    assert [p.name for p in (tmp_path / "uploads").rglob("*") if p.is_file()] == [key.rsplit("/", 1)[1]]
    store.delete(key)
    store.delete(key)  # gone already: fine
    with pytest.raises(NotFound):
        store.read(key)
    (tmp_path / "secret.txt").write_text("not a photo")
    for bad in ("../secret.txt", "2026/11/../../../secret.txt", "/etc/passwd", "2026/11/x.jpg"):
        with pytest.raises(NotFound):
            store.read(bad)
        store.delete(bad)
    assert (tmp_path / "secret.txt").exists()
    with pytest.raises(ValueError):
        store.put(b"<?php", "php", NOW)


def test_location_and_other_metadata_are_not_kept_and_the_photo_is_upright() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees to view
    exif[0x013B] = "王秀英"  # Artist
    exif.get_ifd(0x8825)[2] = (39.0, 54.0, 27.0)  # GPSLatitude
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "green").save(buffer, "JPEG", exif=exif)
    kept = check_photo(buffer.getvalue(), 100_000)
    with Image.open(io.BytesIO(kept.data)) as image:
        assert not image.getexif() and "exif" not in image.info
        assert image.size == (20, 40)
    png = Image.new("RGB", (10, 10))
    meta = PngInfo()
    meta.add_text("Comment", "手机号13800138000")
    buffer = io.BytesIO()
    png.save(buffer, "PNG", pnginfo=meta)
    with Image.open(io.BytesIO(check_photo(buffer.getvalue(), 100_000).data)) as image:
        assert "Comment" not in image.info
