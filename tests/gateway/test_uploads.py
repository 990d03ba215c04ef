"""Uploaded photos: the bytes decide the type, limits hold, and the store names files itself."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from gateway.uploads import KEPT_PIXELS, DecodeSlots, LocalFolderStore, PhotoRefused, check_photo, content_type
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


ROOT = Path(__file__).resolve().parents[2]
LARGE = (7000, 5500)  # 38.5 megapixels: under MAX_PIXELS, 115 MB as pixels


@pytest.fixture(scope="module")
def large_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A large-dimension JPEG of a few hundred kB, as a modern phone sends (a gradient compresses well)."""
    path = tmp_path_factory.mktemp("photos") / "large.jpg"
    Image.linear_gradient("L").resize(LARGE).convert("RGB").save(path, "JPEG", quality=85)
    return path


def test_a_large_photo_is_kept_at_most_kept_pixels_with_its_shape(large_jpeg: Path) -> None:
    kept = check_photo(large_jpeg.read_bytes(), 5 * 1024 * 1024)
    assert kept.width * kept.height <= KEPT_PIXELS and kept.width * kept.height > 0.95 * KEPT_PIXELS
    assert abs(kept.width / kept.height - LARGE[0] / LARGE[1]) < 0.01
    with Image.open(io.BytesIO(kept.data)) as image:
        assert image.size == (kept.width, kept.height) and image.format == "JPEG"


def test_decodes_wait_for_a_slot_and_a_long_wait_is_busy() -> None:
    jpeg = encoded(Image.new("RGB", (40, 30), "red"), "JPEG")
    slots = DecodeSlots(1, wait=0.05)
    with slots.held(), pytest.raises(PhotoRefused) as busy:  # every slot taken, for longer than the wait
        check_photo(jpeg, 10_000, slots)
    assert busy.value.reason == "busy"
    patient = DecodeSlots(1, wait=5)
    done: list[object] = []
    with patient.held():
        waiting = threading.Thread(target=lambda: done.append(check_photo(jpeg, 10_000, patient)))
        waiting.start()
        waiting.join(0.2)
        assert waiting.is_alive() and not done  # waits its turn ...
    waiting.join(5)
    assert len(done) == 1  # ... and decodes once the slot is free


# Run in a fresh interpreter: the peak resident size of a process only ever grows, so this suite's own
# cannot be measured. Eight photos arrive at once; the growth of the peak is what they cost.
MEASURE = """
import io, resource, sys, threading
from PIL import Image
from gateway.uploads import check_photo
data = open(sys.argv[1], "rb").read()
small = io.BytesIO()
Image.new("RGB", (64, 48), "red").save(small, "JPEG")
check_photo(small.getvalue(), 10**6)  # libraries loaded before the baseline
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
uploads = [threading.Thread(target=check_photo, args=(data, 5 * 1024 * 1024)) for _ in range(int(sys.argv[2]))]
for upload in uploads:
    upload.start()
for upload in uploads:
    upload.join()
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""
CONCURRENT_UPLOADS = 8
BUDGET_MB = 400  # measured 215-250 MB; decoding whole, eight at once took 3.6 GB


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in kilobytes on Linux")
def test_concurrent_large_uploads_stay_within_the_memory_budget(large_jpeg: Path) -> None:
    measured = subprocess.run([sys.executable, "-c", MEASURE, str(large_jpeg), str(CONCURRENT_UPLOADS)], cwd=ROOT,
                              capture_output=True, text=True, timeout=300, check=True)
    growth = int(measured.stdout.strip())
    assert growth < BUDGET_MB, f"{CONCURRENT_UPLOADS} concurrent uploads grew the process by {growth} MB"
