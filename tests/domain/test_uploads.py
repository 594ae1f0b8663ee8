"""Hostile and ordinary uploads, all made here (no binary fixtures): type detection from
the bytes, polyglots, decompression bombs, PDF active content, image metadata, text
encoding, display names."""

from __future__ import annotations

import io
import re
import struct
import tempfile
import time
import unicodedata
import zipfile
import zlib
from pathlib import Path

import pikepdf
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from domain.uploads import (
    CANONICAL_EXTENSIONS,
    KINDS,
    MAX_FRAMES,
    REASONS,
    CleanFile,
    UploadRejected,
    inspect_and_clean,
    safe_display_name,
)
from domain.uploads import pdf as uploads_pdf

MB = 1024 * 1024
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
Name = pikepdf.Name


# --- makers ---------------------------------------------------------------------------


def png_bytes(size=(32, 24), mode="RGB", pnginfo=None) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "teal" if mode == "RGB" else 128).save(buffer, "PNG", pnginfo=pnginfo)
    return buffer.getvalue()


def gps_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    loaded = Image.Exif()
    loaded.load(exif.tobytes())
    return loaded


def jpeg_bytes(size=(40, 20), **options) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, "JPEG", **options)
    return buffer.getvalue()


def tiff_bytes(pages: int = 1, **options) -> bytes:
    buffer = io.BytesIO()
    first = Image.new("RGB", (40, 20), "blue")
    others = [Image.new("L", (30, 30), 200) for _ in range(pages - 1)]
    first.save(buffer, "TIFF", save_all=True, append_images=others, **options)
    return buffer.getvalue()


def pdf_bytes(modify=None) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    if modify:
        modify(pdf)
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def docx_bytes() -> bytes:
    return zip_bytes(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
            "_rels/.rels": b"<Relationships/>",
            "word/document.xml": b"<w:document/>",
        }
    )


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def declared_png(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height greyscale pixels, with a tiny IDAT: the
    pixels are never allocated here."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1) * 4, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def exploded(path: Path) -> bytes:
    """The whole PDF with every stream decoded and no object streams, to grep."""
    buffer = io.BytesIO()
    with pikepdf.open(path) as pdf:
        pdf.save(
            buffer,
            qdf=True,
            object_stream_mode=pikepdf.ObjectStreamMode.disable,
            stream_decode_level=pikepdf.StreamDecodeLevel.all,
        )
    return buffer.getvalue()


@pytest.fixture
def upload(tmp_path):
    """upload(data, filename, **kwargs) -> CleanFile, from a spooled file in tmp_path."""
    work = tmp_path / "work"
    work.mkdir()

    def run(data: bytes, filename: str, max_bytes: int = 5 * MB, **kwargs) -> CleanFile:
        source = tmp_path / "spooled.upload"
        source.write_bytes(data)
        try:
            return inspect_and_clean(source, filename, max_bytes, work, **kwargs)
        finally:
            assert source.read_bytes() == data  # never modified

    run.work = work
    return run


def rejected(upload, data: bytes, filename: str, **kwargs) -> UploadRejected:
    with pytest.raises(UploadRejected) as caught:
        upload(data, filename, **kwargs)
    assert caught.value.reason in REASONS
    assert list(upload.work.iterdir()) == []  # nothing left behind
    return caught.value


# --- size -----------------------------------------------------------------------------


def test_zero_bytes_is_empty(upload):
    assert rejected(upload, b"", "vide.pdf").reason == "empty"


def test_over_the_limit_is_refused_before_anything_else(upload):
    error = rejected(upload, b"MZ" + b"\x00" * 200, "gros.exe", max_bytes=100)
    assert error.reason == "too_large"
    assert error.details["limit_bytes"] == 100
    error = rejected(upload, b"a" * (5 * MB + 1), "notes.txt")
    assert error.details["limit_mb"] == 5


def test_exactly_at_the_limit_is_accepted(upload):
    data = b"x" * 100
    assert upload(data, "notes.txt", max_bytes=100).size == 100


# --- types, extensions ----------------------------------------------------------------


def test_a_png_named_pdf_is_a_mismatch(upload):
    error = rejected(upload, png_bytes(), "ordonnance.pdf")
    assert error.reason == "type_mismatch"
    assert error.details == {"detected": "png", "extension": "pdf"}


def test_a_real_docx_named_pdf_is_named_as_docx(upload):
    error = rejected(upload, docx_bytes(), "compte-rendu.pdf")
    assert error.reason == "type_not_allowed"
    assert error.details["detected"] == "docx"
    assert error.details["extension"] == "pdf"


@pytest.mark.parametrize(
    ("data", "detected"),
    [
        (docx_bytes(), "docx"),
        (zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"}), "xlsx"),
        (
            zip_bytes(
                {
                    "mimetype": b"application/vnd.oasis.opendocument.text",
                    "content.xml": b"<office/>",
                }
            ),
            "odt",
        ),
        (zip_bytes({"a.txt": b"hello"}), "zip"),
        (
            b"MZ\x90\x00" + b"\x00" * 56 + struct.pack("<I", 64) + b"PE\x00\x00" + b"\x00" * 64,
            "exe",
        ),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 60, "elf"),
        (b"\xef\xbb\xbf  <!DOCTYPE html><html><body>hi</body></html>", "html"),
        (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "svg"),
        (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "gif"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heic"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "doc"),
        (b"\x00" * 128 + b"DICM" + b"\x02\x00" * 20, "dcm"),
        (b"{\\rtf1\\ansi hello}", "rtf"),
        (b"\x1f\x8b\x08\x00" + b"\x00" * 20, "gz"),
    ],
)
def test_known_refused_types_are_named(upload, data, detected):
    for filename in ("document.pdf", "notes.txt", f"original.{detected}"):
        error = rejected(upload, data, filename)
        assert error.reason == "type_not_allowed"
        assert error.details["detected"] == detected


def test_an_extension_outside_the_list_is_refused(upload):
    for filename in ("scan.pdf.exe", "scan", "scan.html", "scan.jpe"):
        error = rejected(upload, pdf_bytes(), filename)
        assert error.reason == "extension_not_allowed"


def test_text_named_as_a_pdf_is_a_mismatch_and_unknown_bytes_are_unreadable(upload):
    error = rejected(upload, "Résultats".encode(), "bilan.pdf")
    assert (error.reason, error.details["detected"]) == ("type_mismatch", "txt")
    error = rejected(upload, bytes(range(256)) * 4, "bilan.png")
    assert error.reason == "unreadable"


def test_plain_text_that_starts_with_mz_is_text(upload):
    clean = upload(b"MZ: compte rendu de la consultation\n" * 3, "cr.txt")
    assert clean.kind == "txt"


def test_extension_case_and_trailing_dots_do_not_matter(upload):
    assert upload(png_bytes(), "Photo.PNG. ").kind == "png"
    assert upload(jpeg_bytes(), "photo.jpeg").extension == "jpg"


# --- polyglots ------------------------------------------------------------------------


def test_pdf_followed_by_a_zip_is_a_polyglot(upload):
    data = pdf_bytes() + zip_bytes({"payload.js": b"alert(1)"})
    error = rejected(upload, data, "ordonnance.pdf")
    assert error.reason == "polyglot"
    assert error.details == {"detected": "pdf", "payload": "zip"}


def test_png_with_appended_html_is_a_polyglot(upload):
    data = png_bytes() + b"\n<html><script>alert(document.cookie)</script></html>"
    error = rejected(upload, data, "radio.png")
    assert (error.reason, error.details["payload"]) == ("polyglot", "html")


def test_jpeg_with_appended_zip_is_a_polyglot(upload):
    data = jpeg_bytes() + zip_bytes({"evil.exe": b"MZ" + b"\x00" * 100})
    error = rejected(upload, data, "photo.jpg")
    assert (error.reason, error.details["payload"]) == ("polyglot", "zip")


def test_markup_in_the_first_kilobyte_of_an_image_is_a_polyglot(upload):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    assert rejected(upload, png_bytes(pnginfo=info), "a.png").reason == "polyglot"
    data = jpeg_bytes(comment=b"<HTML><body onload=alert(1)>")
    assert rejected(upload, data, "a.jpg").reason == "polyglot"


def test_an_image_that_is_also_a_pdf_is_a_polyglot(upload):
    data = jpeg_bytes(comment=b"%PDF-1.4 1 0 obj")
    error = rejected(upload, data, "a.jpg")
    assert (error.reason, error.details["payload"]) == ("polyglot", "pdf")


def test_end_of_image_bytes_inside_a_segment_do_not_fool_the_jpeg_walk(upload):
    data = jpeg_bytes(comment=b"\xff\xd9PK\x03\x04 not the end")
    clean = upload(data, "photo.jpg")
    assert clean.kind == "jpeg"
    clean.path.unlink()
    data = jpeg_bytes(comment=b"\xff\xd9") + b"PK\x03\x04" + b"\x00" * 40
    assert rejected(upload, data, "photo.jpg").reason == "polyglot"


def test_harmless_trailing_data_is_dropped_by_re_encoding(upload):
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20  # a "motion photo"
    clean = upload(jpeg_bytes() + video, "photo.jpg")
    assert video[:12] not in clean.path.read_bytes()


# --- images ---------------------------------------------------------------------------


def test_decompression_bomb_png_is_rejected_quickly(upload):
    data = declared_png(30_000, 30_000)
    assert len(data) < 2_000
    started = time.perf_counter()
    error = rejected(upload, data, "bombe.png")
    assert error.reason == "image_too_large"
    assert time.perf_counter() - started < 2


def test_pixel_limit_is_checked_from_the_header(upload):
    error = rejected(upload, declared_png(7_000, 7_000), "grand.png")
    assert error.reason == "image_too_large"
    assert error.details["pixels"] == 49_000_000
    assert error.details["limit_pixels"] == 40_000_000
    error = rejected(upload, png_bytes((100, 100)), "petit.png", max_pixels=5_000)
    assert error.details["width"] == 100


def test_jpeg_loses_exif_and_gps_but_keeps_its_orientation(upload):
    data = jpeg_bytes((40, 20), exif=gps_exif(orientation=6), comment=b"Dr Martin")
    assert b"PhoneMaker" in data
    clean = upload(data, "IMG_0042.JPG")
    assert (clean.kind, clean.mimetype, clean.display_name) == (
        "jpeg",
        "image/jpeg",
        "IMG_0042.jpg",
    )
    assert {"EXIF", "GPS", "comment"} <= set(clean.removed)
    output = clean.path.read_bytes()
    assert b"PhoneMaker" not in output and b"Exif" not in output and b"Dr Martin" not in output
    with Image.open(clean.path) as image:
        assert image.format == "JPEG"
        assert image.size == (20, 40)  # rotated as the orientation tag said
        assert "exif" not in image.info
        assert not image.getexif()


def test_tiff_loses_exif_and_gps_and_keeps_every_page(upload):
    data = tiff_bytes(pages=3, exif=gps_exif())
    clean = upload(data, "scan.tiff")
    assert clean.kind == "tiff" and clean.display_name == "scan.tif"
    assert "GPS" in clean.removed
    with Image.open(clean.path) as image:
        assert image.n_frames == 3
        for index in range(3):
            image.seek(index)
            assert image.info.get("compression") == "tiff_lzw"
            assert 34853 not in image.tag_v2 and 34665 not in image.tag_v2
            assert 271 not in image.tag_v2
            assert not image.getexif().get_ifd(0x8825)


def test_tiff_page_count_and_total_pixels_are_bounded(upload):
    error = rejected(upload, tiff_bytes(pages=7), "scan.tif", max_pixels=1_000)
    assert error.reason == "image_too_large"
    assert error.details["limit_pixels"] == 5_000  # 800 + 6 x 900 pixels is over
    buffer = io.BytesIO()
    pages = [Image.new("L", (1, 1)) for _ in range(MAX_FRAMES + 1)]
    pages[0].save(buffer, "TIFF", save_all=True, append_images=pages[1:])
    error = rejected(upload, buffer.getvalue(), "scan.tif")
    assert error.details["limit_frames"] == MAX_FRAMES


def test_png_is_re_encoded_with_its_transparency(upload):
    clean = upload(png_bytes(mode="RGBA"), "schema.png")
    with Image.open(clean.path) as image:
        assert image.format == "PNG" and image.mode == "RGBA"


@pytest.mark.parametrize(
    ("kind", "mode", "options"),
    [
        ("png", "P", {"transparency": 0}),
        ("png", "I;16", {}),
        ("png", "1", {}),
        ("jpeg", "CMYK", {}),
        ("jpeg", "L", {}),
        ("tiff", "1", {"compression": "group4"}),
        ("tiff", "CMYK", {}),
        ("tiff", "RGB", {"compression": "jpeg"}),
    ],
)
def test_image_modes_survive_re_encoding(upload, kind, mode, options):
    buffer = io.BytesIO()
    Image.new(mode, (33, 17)).save(buffer, kind.upper(), **options)
    clean = upload(buffer.getvalue(), "image." + CANONICAL_EXTENSIONS[kind])
    with Image.open(clean.path) as image:
        image.load()
        assert (image.format.lower(), image.mode, image.size) == (kind, mode, (33, 17))
        if "transparency" in options:
            assert image.info["transparency"] == 0


def test_corrupt_image_is_unreadable(upload):
    data = png_bytes((64, 64))
    truncated = data[: len(data) // 2]
    assert rejected(upload, truncated, "coupé.png").reason == "unreadable"
    assert rejected(upload, b"\xff\xd8\xff\xe0" + b"\x00" * 50, "x.jpg").reason == "unreadable"


# --- PDFs -----------------------------------------------------------------------------


def javascript(code: str) -> pikepdf.Dictionary:
    return pikepdf.Dictionary(Type=Name.Action, S=Name.JavaScript, JS=pikepdf.String(code))


def test_pdf_with_openaction_javascript_comes_out_clean(upload):
    def hostile(pdf):
        pdf.Root.OpenAction = pdf.make_indirect(javascript("app.alert('open')"))
        pdf.Root.Names = pikepdf.Dictionary(
            JavaScript=pikepdf.Dictionary(
                Names=pikepdf.Array(
                    [pikepdf.String("init"), pdf.make_indirect(javascript("app.alert('names')"))]
                )
            )
        )
        page = pdf.pages[0].obj
        page.AA = pikepdf.Dictionary(O=javascript("app.alert('page')"))
        page.Annots = pikepdf.Array(
            [
                pdf.make_indirect(
                    pikepdf.Dictionary(
                        Type=Name.Annot,
                        Subtype=Name.Link,
                        Rect=[0, 0, 50, 50],
                        A=javascript("app.alert('link')"),
                    )
                )
            ]
        )

    data = pdf_bytes(hostile)
    assert b"/OpenAction" in data
    clean = upload(data, "ordonnance.pdf")
    assert (clean.kind, clean.mimetype) == ("pdf", "application/pdf")
    assert {"OpenAction", "JavaScript", "AA"} <= set(clean.removed)
    for output in (clean.path.read_bytes(), exploded(clean.path)):
        assert b"/OpenAction" not in output
        assert b"/JS" not in output
        assert b"/JavaScript" not in output
        assert b"app.alert" not in output
    with pikepdf.open(clean.path) as pdf:
        assert len(pdf.pages) == 1
        assert "/OpenAction" not in pdf.Root
        assert "/AA" not in pdf.pages[0].obj


def test_pdf_with_launch_actions_comes_out_clean(upload):
    def hostile(pdf):
        launch = pikepdf.Dictionary(S=Name.Launch, F=pikepdf.String("C:\\Windows\\calc.exe"))
        pdf.Root.OpenAction = launch
        pdf.pages[0].obj.Annots = pikepdf.Array(
            [
                pdf.make_indirect(
                    pikepdf.Dictionary(
                        Type=Name.Annot,
                        Subtype=Name.Link,
                        Rect=[0, 0, 50, 50],
                        A=pikepdf.Dictionary(S=Name.Launch, F=pikepdf.String("cmd.exe")),
                    )
                )
            ]
        )

    clean = upload(pdf_bytes(hostile), "courrier.pdf")
    assert {"OpenAction", "Launch"} <= set(clean.removed)
    output = exploded(clean.path)
    assert b"/Launch" not in output and b"calc.exe" not in output and b"cmd.exe" not in output


def test_pdf_embedded_files_and_xfa_are_removed(upload):
    def hostile(pdf):
        pdf.attachments["facture.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ" + b"\x00" * 64)
        pdf.Root.AcroForm = pikepdf.Dictionary(
            Fields=pikepdf.Array(), XFA=pdf.make_stream(b"<xdp:xdp/>")
        )

    clean = upload(pdf_bytes(hostile), "facture.pdf")
    assert {"EmbeddedFiles", "XFA"} <= set(clean.removed)
    output = exploded(clean.path)
    assert b"/EmbeddedFile" not in output and b"facture.exe" not in output
    assert b"/XFA" not in output


def test_an_ordinary_pdf_keeps_its_opening_view(upload):
    def ordinary(pdf):
        pdf.Root.OpenAction = pikepdf.Array([pdf.pages[0].obj, Name.Fit])

    clean = upload(pdf_bytes(ordinary), "bilan.pdf")
    assert clean.removed == ()
    with pikepdf.open(clean.path) as pdf:
        assert "/OpenAction" in pdf.Root


@pytest.mark.parametrize("user_password", ["", "secret"])
def test_encrypted_pdf_is_unreadable(upload, user_password):
    pdf = pikepdf.new()
    pdf.add_blank_page()
    buffer = io.BytesIO()
    pdf.save(buffer, encryption=pikepdf.Encryption(owner="owner", user=user_password))
    error = rejected(upload, buffer.getvalue(), "protégé.pdf")
    assert error.reason == "unreadable"
    assert error.details["encrypted"] is True


def test_a_pdf_still_active_after_cleaning_is_refused_as_unsafe(upload, monkeypatch):
    real_sweep = uploads_pdf._sweep_pdf
    calls = []

    def first_sweep_misses_everything(pdf):
        calls.append(pdf)
        return set() if len(calls) == 1 else real_sweep(pdf)

    monkeypatch.setattr(uploads_pdf, "_sweep_pdf", first_sweep_misses_everything)

    def hostile(pdf):
        pdf.Root.OpenAction = javascript("app.alert(1)")

    error = rejected(upload, pdf_bytes(hostile), "x.pdf")
    assert error.reason == "pdf_unsafe"
    assert "JavaScript" in error.details["remaining"]


def test_corrupt_pdf_is_unreadable(upload):
    assert rejected(upload, b"%PDF-1.7\n" + b"\x00\xff" * 50, "x.pdf").reason == "unreadable"


# --- text -----------------------------------------------------------------------------


def test_utf8_text_is_copied_without_its_bom(upload):
    text = "Résultats de biologie\r\n\tGlycémie : 5,2 mmol/L — à jeun\n"
    clean = upload(b"\xef\xbb\xbf" + text.encode(), "résultats.TXT")
    assert (clean.kind, clean.mimetype) == ("txt", "text/plain; charset=utf-8")
    assert clean.path.read_bytes() == text.encode()
    assert clean.display_name == "résultats.txt"


def test_long_text_is_read_in_chunks_across_multibyte_characters(upload):
    text = "é" * 70_001 + "\n"
    clean = upload(text.encode(), "long.txt")
    assert clean.path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("Résultats".encode("latin-1"), "encoding"),
        (b"abc\x00def", "control_character"),
        (b"bell\x07", "control_character"),
        ("é".encode()[:1], "encoding"),  # truncated at the very end
        ("x".encode("utf-16"), "encoding"),
    ],
)
def test_text_that_is_not_clean_utf8_is_rejected(upload, data, problem):
    error = rejected(upload, data, "notes.txt")
    assert error.reason == "text_not_utf8"
    assert error.details["problem"] == problem


# --- output ---------------------------------------------------------------------------


def test_output_is_a_new_private_file_in_work_dir(upload):
    clean = upload(png_bytes(), "../../etc/passwd.png")
    assert clean.path.parent == upload.work
    assert clean.path.suffix == ".png" and "passwd" not in clean.path.name
    assert clean.size == clean.path.stat().st_size
    assert clean.display_name == "passwd.png"
    others = [upload(pdf_bytes(), "a.pdf"), upload(b"ok", "a.txt"), upload(tiff_bytes(), "a.tif")]
    for output in [clean, *others]:
        assert output.path.stat().st_mode & 0o777 == 0o600


def test_upload_rejected_carries_reason_and_details():
    error = UploadRejected("type_not_allowed", {"detected": "docx"})
    assert str(error) == "type_not_allowed"
    assert error.details == {"detected": "docx"}
    assert UploadRejected("empty").details == {}


# --- display names --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "kind", "expected"),
    [
        ("../../etc/passwd", "txt", "passwd.txt"),
        ("..\\..\\Windows\\system32\\ordonnance.PDF", "pdf", "ordonnance.pdf"),
        ("compte\x00rendu\x1b[31m\tdu  3 mars.pdf", "pdf", "compterendu[31m du 3 mars.pdf"),
        ("facture\u202egpj.exe", "jpeg", "facturegpj.exe.jpg"),
        ("Radiographie du genou — Hôpital.jpeg", "jpeg", "Radiographie du genou — Hôpital.jpg"),
        ("e\u0301chographie.png", "png", "échographie.png"),
        ("A\x08\u0300 la une.pdf", "pdf", "\u00c0 la une.pdf"),
        ("lone\udcffsurrogate.txt", "txt", "lonesurrogate.txt"),
        ("", "pdf", "document.pdf"),
        ("../", "pdf", "document.pdf"),
        ("   .pdf", "pdf", "document.pdf"),
        ("scan.tiff", "tiff", "scan.tif"),
        ("photo.png", "jpeg", "photo.jpg"),
        ("rapport.docx", "pdf", "rapport.docx.pdf"),
        ("x" * 300 + ".pdf", "pdf", "x" * 116 + ".pdf"),
    ],
)
def test_safe_display_name_examples(filename, kind, expected):
    assert safe_display_name(filename, kind) == expected


hostile_text = st.lists(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(
            [
                "/",
                "\\",
                ".",
                "..",
                " ",
                "\t",
                "\x00",
                "\u2028",
                "\u202e",
                "\u2066",
                "\u200f",
                "é",
                "\u0301",
                ".pdf",
                ".JPG",
                ".tiff",
            ]
        ),
    ),
    max_size=300,
).map("".join)


@given(filename=hostile_text, kind=st.sampled_from(KINDS))
@settings(deadline=None)
def test_safe_display_name_properties(filename, kind):
    name = safe_display_name(filename, kind)
    suffix = "." + CANONICAL_EXTENSIONS[kind]
    assert name.endswith(suffix) and len(name) > len(suffix)
    assert len(name) <= 120
    assert "/" not in name and "\\" not in name
    assert not any(unicodedata.category(char) in ("Cc", "Cs") for char in name)
    assert not BIDI & set(name)
    assert name == name.strip() and "  " not in name
    assert name.encode("utf-8")  # no lone surrogate
    assert safe_display_name(name, kind) == name  # stable


# --- robustness: damaged versions of good files never escape as other errors ----------


def _hostile_seed(pdf):
    pdf.Root.OpenAction = pdf.make_indirect(javascript("app.alert('open')"))
    pdf.pages[0].obj.AA = pikepdf.Dictionary(O=javascript("app.alert('page')"))


SEEDS = {
    "a.png": png_bytes((16, 16)),
    "a.jpg": jpeg_bytes((16, 16), exif=gps_exif(6), progressive=True),
    "a.tif": tiff_bytes(pages=2),
    "a.pdf": pdf_bytes(),
    "hostile.pdf": pdf_bytes(_hostile_seed),
}
ACTIVE = re.compile(rb"/(JS|JavaScript|OpenAction|AA|Launch)[\s<>/\[(]")


@given(
    filename=st.sampled_from(sorted(SEEDS)),
    cut=st.integers(min_value=1, max_value=4_000),
    flips=st.lists(st.tuples(st.integers(0, 4_000), st.integers(0, 255)), max_size=6),
)
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's notes on corrupt metadata
def test_damaged_files_are_cleaned_or_rejected(filename, cut, flips):
    data = bytearray(SEEDS[filename][:cut])
    for position, value in flips:
        if position < len(data):
            data[position] = value
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "spooled"
        source.write_bytes(bytes(data))
        work = Path(folder) / "work"
        work.mkdir()
        try:
            clean = inspect_and_clean(source, filename, 5 * MB, work)
        except UploadRejected as error:
            assert error.reason in REASONS
            assert list(work.iterdir()) == []
        else:
            assert clean.path.exists() and clean.kind in KINDS
            if clean.kind == "pdf":
                assert not ACTIVE.search(exploded(clean.path))
