"""domain.imaging: what is accepted as a photo, and what a published photo keeps of the upload (only pixels)."""

from __future__ import annotations

import io
import random
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from domain.errors import DomainError
from domain.imaging import ImageHeader, ProcessedImage, make_publishable, read_header
from tests.factories import jpeg_with_gps, png_bytes, png_declaring

MAX_PIXELS = 100_000_000
MAX_SIDE = 2048
THUMB_SIDE = 400
CAMERA_MODEL = b"Jakarta Phone X"
RED = (200, 30, 30)
BLUE = (20, 20, 220)
WHITE = (255, 255, 255)
ROOT = Path(__file__).resolve().parents[2]


def publish(data: bytes, *, max_side: int = MAX_SIDE, thumb_side: int = THUMB_SIDE) -> ProcessedImage:
    return make_publishable(data, max_pixels=MAX_PIXELS, max_side=max_side, thumb_side=thumb_side)


def header(data: bytes) -> ImageHeader:
    return read_header(data, max_pixels=MAX_PIXELS)


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def jpeg_with_every_metadata_block() -> bytes:
    """jpeg_with_gps (EXIF with GPS IFD and camera model, COM comment) plus an ICC profile and XMP naming the GPS."""
    source = decoded(jpeg_with_gps())
    return encoded(
        source,
        "JPEG",
        exif=source.info["exif"],
        comment=b"secret comment",
        icc_profile=b"FAKE-ICC-PROFILE" * 16,
        xmp=b"<x:xmpmeta><exif:GPSLatitude>6,10.16S</exif:GPSLatitude></x:xmpmeta>",
    )


def close_to(pixel: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


# Both gates run the same acceptance rules: read_header when a photo is claimed, make_publishable in the worker.
GATES: list[Callable[[bytes], object]] = [header, publish]
GATE_IDS = ["read_header", "make_publishable"]


# --- metadata -------------------------------------------------------------------------------------


def test_the_metadata_source_really_carries_exif_gps_model_comment_icc_and_xmp() -> None:
    # given / when
    data = jpeg_with_every_metadata_block()

    # then: without this the stripping tests below would prove nothing
    source = decoded(data)
    assert source.getexif()[0x0110] == CAMERA_MODEL.decode()
    assert source.getexif().get_ifd(0x8825)[1] == "S"
    assert {"exif", "comment", "icc_profile", "xmp"} <= source.info.keys()
    assert b"Exif" in data
    assert b"GPS" in data
    assert CAMERA_MODEL in data
    assert b"secret comment" in data


@pytest.mark.parametrize("part", ["image", "thumbnail"])
def test_publishing_drops_every_metadata_block(part: str) -> None:
    # given
    data = jpeg_with_every_metadata_block()

    # when
    out: bytes = getattr(publish(data), part)

    # then
    image = decoded(out)
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert not {"exif", "comment", "icc_profile", "xmp"} & image.info.keys()
    assert b"Exif" not in out
    assert b"GPS" not in out
    assert CAMERA_MODEL not in out
    assert b"secret comment" not in out
    assert b"FAKE-ICC-PROFILE" not in out
    assert b"xmpmeta" not in out


# --- orientation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("orientation", "size"),
    [
        (1, (640, 480)),
        (2, (640, 480)),
        (3, (640, 480)),
        (4, (640, 480)),
        (5, (480, 640)),
        (6, (480, 640)),
        (7, (480, 640)),
        (8, (480, 640)),
    ],
    ids=lambda value: f"orientation-{value}" if isinstance(value, int) else "x".join(map(str, value)),
)
def test_exif_orientation_decides_the_published_size(orientation: int, size: tuple[int, int]) -> None:
    # given a 640x480 photo whose EXIF says how it must be turned
    data = jpeg_with_gps(size=(640, 480), orientation=orientation)

    # when
    result = publish(data)

    # then
    assert (result.width, result.height) == size
    assert decoded(result.image).size == size


def test_orientation_6_turns_the_pixels_a_quarter_clockwise() -> None:
    # given: stored upright-unaware, a blue block at the top-left (x < 320, y < 120); 6 means "turn 90° clockwise"
    data = jpeg_with_gps(size=(640, 480), orientation=6)

    # when
    image = decoded(publish(data).image)

    # then the block is now at the top-right, and the orientation tag is not kept to turn it a second time
    assert close_to(image.getpixel((470, 10)), BLUE)
    assert close_to(image.getpixel((10, 10)), RED)
    assert close_to(image.getpixel((470, 630)), RED)
    assert 0x0112 not in image.getexif()


# --- size -----------------------------------------------------------------------------------------


def test_the_longest_side_and_the_thumbnail_are_bounded_keeping_the_aspect_ratio() -> None:
    # given a 3000x1500 photo
    data = jpeg_with_gps(size=(3000, 1500))

    # when
    result = publish(data, max_side=1000, thumb_side=200)

    # then
    assert (result.width, result.height) == (1000, 500)
    assert decoded(result.image).size == (1000, 500)
    assert decoded(result.thumbnail).size == (200, 100)


def test_a_portrait_photo_is_bounded_by_its_height() -> None:
    # given
    data = jpeg_with_gps(size=(900, 1800))

    # when
    result = publish(data, max_side=1000, thumb_side=200)

    # then
    assert (result.width, result.height) == (500, 1000)
    assert decoded(result.thumbnail).size == (100, 200)


@pytest.mark.parametrize(
    ("orientation", "size"),
    [(None, (2000, 1500)), (6, (1500, 2000))],
    ids=["landscape", "orientation-6"],
)
def test_a_jpeg_twice_the_bound_is_decoded_at_half_its_size(orientation: int | None, size: tuple[int, int]) -> None:
    # given a phone's 4000x3000 photo, over twice the 2048 bound
    data = jpeg_with_gps(size=(4000, 3000), orientation=orientation)

    # when
    result = publish(data, max_side=2048, thumb_side=400)

    # then it was decoded at 1/2 by the JPEG's own DCT (a resize would have made 2048x1536), turned as its EXIF
    # says, its blue block (the top-left quarter's upper half) where it belongs
    image = decoded(result.image)
    assert (result.width, result.height) == size
    assert image.size == size
    assert decoded(result.thumbnail).size == (size[0] // 5, size[1] // 5)
    top_left_blue = (10, 10) if orientation is None else (size[0] - 10, 10)
    assert close_to(image.getpixel(top_left_blue), BLUE)
    assert close_to(image.getpixel((size[0] // 2, size[1] - 10)), RED)


def test_a_jpeg_under_twice_the_bound_is_cut_to_the_bound() -> None:
    # given 3600x2700: at half its size the longer side (1800) would be under 19/20 of 2048
    data = jpeg_with_gps(size=(3600, 2700))

    # when
    result = publish(data, max_side=2048, thumb_side=400)

    # then
    assert (result.width, result.height) == (2048, 1536)


def test_published_jpegs_are_baseline() -> None:
    result = publish(jpeg_with_gps(size=(640, 480)))

    assert not decoded(result.image).info.get("progressive")
    assert not decoded(result.thumbnail).info.get("progressive")


def test_a_small_photo_is_not_enlarged() -> None:
    # given
    data = jpeg_with_gps(size=(640, 480))

    # when
    result = publish(data, max_side=2048, thumb_side=400)

    # then
    assert (result.width, result.height) == (640, 480)
    assert decoded(result.thumbnail).size == (400, 300)


# --- accepted formats -----------------------------------------------------------------------------


def test_png_with_alpha_becomes_an_rgb_jpeg_on_white() -> None:
    # given an RGBA PNG: left half transparent, right half opaque red
    image = Image.new("RGBA", (64, 48), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (32, 0, 64, 48))
    data = encoded(image, "PNG")

    # when
    out = decoded(publish(data).image)

    # then
    assert (out.format, out.mode, out.size) == ("JPEG", "RGB", (64, 48))
    assert close_to(out.getpixel((5, 24)), WHITE)
    assert close_to(out.getpixel((58, 24)), (255, 0, 0))


def test_the_factory_transparent_png_is_published_as_a_white_rgb_jpeg() -> None:
    # given a fully transparent RGBA PNG
    data = png_bytes(size=(64, 48), mode="RGBA")

    # when
    result = publish(data)

    # then
    out = decoded(result.image)
    assert (out.format, out.mode, out.size) == ("JPEG", "RGB", (64, 48))
    assert close_to(out.getpixel((32, 24)), WHITE)


def test_palette_png_with_a_transparent_index_becomes_an_rgb_jpeg_on_white() -> None:
    # given a palette image: index 0 (black) is transparent, index 1 is green
    image = Image.new("P", (20, 10), 0)
    image.putpalette([0, 0, 0, 0, 200, 0] + [0, 0, 0] * 254)
    image.paste(1, (10, 0, 20, 10))
    data = encoded(image, "PNG", transparency=0)

    # when
    out = decoded(publish(data).image)

    # then
    assert (out.format, out.mode, out.size) == ("JPEG", "RGB", (20, 10))
    assert close_to(out.getpixel((2, 5)), WHITE)
    assert close_to(out.getpixel((17, 5)), (0, 200, 0))


def test_palette_png_without_transparency_keeps_its_colours() -> None:
    # given
    image = Image.new("P", (20, 10), 1)
    image.putpalette([0, 0, 0, 0, 0, 200] + [0, 0, 0] * 254)
    data = encoded(image, "PNG")

    # when
    out = decoded(publish(data).image)

    # then
    assert (out.format, out.mode) == ("JPEG", "RGB")
    assert close_to(out.getpixel((10, 5)), (0, 0, 200))


def test_webp_is_accepted_and_published_as_jpeg() -> None:
    # given
    data = encoded(Image.new("RGB", (30, 20), BLUE), "WEBP", lossless=True)

    # when
    probed = header(data)
    result = publish(data)

    # then
    assert probed == ImageHeader(format="WEBP", width=30, height=20)
    out = decoded(result.image)
    assert (out.format, out.mode, out.size) == ("JPEG", "RGB", (30, 20))


def test_read_header_reports_format_and_size_of_a_jpeg() -> None:
    # given
    data = jpeg_with_gps(size=(640, 480))

    # when
    probed = header(data)

    # then
    assert probed == ImageHeader(format="JPEG", width=640, height=480)


# --- refused input --------------------------------------------------------------------------------


@pytest.mark.parametrize("gate", GATES, ids=GATE_IDS)
@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_formats_outside_the_allow_list_are_not_an_image(gate: Callable[[bytes], object], fmt: str) -> None:
    # given a perfectly valid image in a format Pillow reads but we do not accept
    data = encoded(Image.new("RGB", (10, 10), RED), fmt)

    # when
    with pytest.raises(DomainError) as raised:
        gate(data)

    # then
    assert (raised.value.code, raised.value.field) == ("PHOTO_NOT_AN_IMAGE", "photoKeys")


@pytest.mark.parametrize("gate", GATES, ids=GATE_IDS)
def test_zero_bytes_are_an_empty_photo(gate: Callable[[bytes], object]) -> None:
    # given
    data = b""

    # when
    with pytest.raises(DomainError) as raised:
        gate(data)

    # then
    assert (raised.value.code, raised.value.field) == ("PHOTO_EMPTY", "photoKeys")


@pytest.mark.parametrize("gate", GATES, ids=GATE_IDS)
@pytest.mark.parametrize(
    "data",
    [
        random.Random(20240601).randbytes(4096),
        b"just some text, not a photo\n",
        b"<!doctype html><html><body><script>alert(1)</script></body></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n",
    ],
    ids=["random", "text", "html", "svg", "pdf"],
)
def test_bytes_that_are_no_image_are_not_an_image(gate: Callable[[bytes], object], data: bytes) -> None:
    # given the bytes above

    # when
    with pytest.raises(DomainError) as raised:
        gate(data)

    # then
    assert (raised.value.code, raised.value.field) == ("PHOTO_NOT_AN_IMAGE", "photoKeys")


def test_the_handmade_png_is_a_valid_png() -> None:
    # given
    data = png_declaring(64, 48)

    # when
    probed = header(data)

    # then: so a TOO_LARGE below is about the size, not a malformed file
    assert probed == ImageHeader(format="PNG", width=64, height=48)


@pytest.mark.parametrize("gate", GATES, ids=GATE_IDS)
def test_a_png_declaring_400_megapixels_is_too_large(gate: Callable[[bytes], object]) -> None:
    # given 20000x20000 declared in a file of about a hundred bytes
    data = png_declaring(20_000, 20_000)

    # when
    with pytest.raises(DomainError) as raised:
        gate(data)

    # then
    assert (raised.value.code, raised.value.field) == ("PHOTO_TOO_LARGE", "photoKeys")


def test_the_pixel_limit_is_the_given_max_pixels() -> None:
    # given a 100x100 image and a limit one pixel short of it
    data = png_declaring(100, 100)

    # when
    with pytest.raises(DomainError) as raised:
        read_header(data, max_pixels=9_999)

    # then
    assert raised.value.code == "PHOTO_TOO_LARGE"
    assert raised.value.message == "The photo has 100x100 pixels; the limit is 9999."


def test_an_image_of_exactly_max_pixels_is_accepted() -> None:
    # given
    data = png_declaring(100, 100)

    # when
    probed = read_header(data, max_pixels=10_000)

    # then
    assert probed == ImageHeader(format="PNG", width=100, height=100)


def test_an_image_under_the_configured_max_pixels_is_accepted_even_above_pillows_default_limit() -> None:
    # given 10000x9500 = 95,000,000 pixels, under the 100,000,000 limit
    data = png_declaring(10_000, 9_500)

    # when
    probed = read_header(data, max_pixels=100_000_000)

    # then
    assert probed == ImageHeader(format="PNG", width=10_000, height=9_500)


def test_a_small_file_of_many_pixels_is_published_holding_about_one_decoded_copy() -> None:
    # given 25 megapixels of one colour in a PNG of a few hundred KB
    width = height = 5_000
    data = encoded(Image.new("RGB", (width, height), RED), "PNG", compress_level=1)

    # when it is published in a process of its own, whose peak memory (VmHWM: ru_maxrss would start from the
    # parent's) is its alone
    script = (
        "import re, sys\n"
        "from domain.imaging import make_publishable\n"
        "def peak():\n"
        "    return int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
        "data = sys.stdin.buffer.read()\n"
        "before = peak()\n"
        "make_publishable(data, max_pixels=100_000_000, max_side=2048, thumb_side=400)\n"
        "print(peak() - before)\n"
    )
    run = subprocess.run([sys.executable, "-c", script], input=data, capture_output=True, check=True, cwd=ROOT)
    grown_bytes = int(run.stdout) * 1024

    # then: Pillow's decoded pixels (4 bytes each) and the first pass of the downscaling (about 6.5 bytes a
    # pixel), not a full-size copy at every step (15 bytes a pixel when each step copied: 1.5 GB for 100 Mpx)
    assert len(data) < 500_000
    assert grown_bytes < 10 * width * height


# --- damaged and disguised files ------------------------------------------------------------------


def test_a_jpeg_cut_in_its_pixel_data_passes_the_header_probe() -> None:
    # given the first half of a valid JPEG: all headers, half the scan
    full = jpeg_with_gps()
    data = full[: len(full) // 2]

    # when
    probed = header(data)

    # then
    assert probed == ImageHeader(format="JPEG", width=640, height=480)


def test_a_jpeg_cut_in_its_pixel_data_is_corrupt() -> None:
    # given
    full = jpeg_with_gps()
    data = full[: len(full) // 2]

    # when
    with pytest.raises(DomainError) as raised:
        publish(data)

    # then
    assert (raised.value.code, raised.value.field) == ("PHOTO_CORRUPT", "photoKeys")


@pytest.mark.parametrize("gate", GATES, ids=GATE_IDS)
def test_a_jpeg_cut_inside_its_headers_is_not_an_image(gate: Callable[[bytes], object]) -> None:
    # given the first 200 bytes: inside the EXIF block, before any frame header
    data = jpeg_with_gps()[:200]

    # when
    with pytest.raises(DomainError) as raised:
        gate(data)

    # then
    assert raised.value.code == "PHOTO_NOT_AN_IMAGE"


def test_a_polyglot_keeps_nothing_of_what_follows_the_jpeg() -> None:
    # given a valid JPEG followed by a ZIP archive and an HTML page
    marker = b"POLYGLOT-PAYLOAD-7f3a"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("payload.html", b"<script>alert(1)</script>" + marker)
    data = jpeg_with_gps() + archive.getvalue() + b"<html><script>steal()</script>" + marker + b"</html>"
    assert marker in data
    assert b"PK\x03\x04" in data

    # when
    result = publish(data)

    # then
    for out in (result.image, result.thumbnail):
        assert marker not in out
        assert b"PK\x03\x04" not in out
        assert b"PK\x05\x06" not in out
        assert b"<script>" not in out
        assert b"<html>" not in out
        assert decoded(out).format == "JPEG"
