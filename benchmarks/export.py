"""Space export (/mon-compte/export.zip): a ZIP of 200 documents of 5 MB (1 GB) streamed.

Run from the project root: `.venv/bin/python benchmarks/export.py` (or `make bench`). Takes
a few minutes (1 GB of documents to encrypt, then several exports of it). Prints figures as
ratios to baselines measured in the same run; never asserts anything about time or memory.

The documents are random bytes (incompressible, like the PDF, JPEG and PNG files the vault
mostly holds), added through domain.vault.add_document for the demo patient camille.martin
on a temporary instance: 20 documents first (100 MB), then 180 more (1 GB in all).

1. Throughput at 1 GB, median of 3 interleaved runs, as a ratio to the floor: every blob
   read whole from the store and one one-shot AES-256-GCM decryption of the same size per
   document (no chunking, no ZIP, all in memory). Then the vault's own streamed decryption
   of every document (no ZIP), the export as domain.exports.space_archive_stream yields it,
   and GET /mon-compte/export.zip through the Flask test client; output counted, dropped.
   DESIGN.md §5 asks document streams for ≥ 0.5× one-shot AES-GCM: shown for reference.
2. Deflating the documents instead of storing them (diagnostic): the export's own ZIP
   writing, stored against deflated (level 6), on the first 20 documents, against their
   decryption alone.
3. Peak memory while the export streams: tracemalloc (Python allocations) at 100 MB and at
   1 GB, against the peak of one document's streamed download in the same run, against a
   5 MB document and against the archive; then the growth of the peak RSS (VmHWM) of a
   fresh child process exporting the 1 GB, against that of a child downloading one document.

Everything lives in a temporary folder (SQLite, or DATABASE_URL as benchmarks/access.py
takes it); the project's instance/ is never touched.
"""

from __future__ import annotations

import gc
import json
import os
import random
import shutil
import subprocess
import sys
import time
import tracemalloc
import zipfile
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from benchmarks._common import (  # noqa: E402
    TotpClock,
    bench_instance,
    build_app,
    median,
    print_environment,
    print_finished,
    print_title,
    sign_in,
    verdict,
    vmhwm_bytes,
    write_source,
)
from domain.crypto import CHUNK_SIZE, NONCE_BYTES, new_data_key  # noqa: E402

MB = 1_000_000
DOCUMENT_SIZE = 5 * MB
DOCUMENTS = 200                # 1 GB in all
FIRST = 20                     # memory measured at 100 MB too, to see whether it grows
DEFLATED = 20                  # documents of the stored-vs-deflated diagnostic
RUNS = 3                       # median of 3 for every throughput figure
STREAM_RATIO = 0.5             # DESIGN.md §5, document streams vs one-shot AES-GCM
PATIENT_LOGIN = "camille.martin"
EXPORT_PATH = "/mon-compte/export.zip"
CATEGORIES = ("lab_results", "imaging", "reports", "prescriptions", "certificates")


def seed_documents(app, tmp: str, start: int, stop: int) -> None:
    """Documents start..stop-1 for the patient, through the vault (encrypted into the store,
    rows and audit as an upload leaves them)."""
    from sqlalchemy import select

    from domain import audit, vault
    from domain.models import Category, User
    from extensions import blobs, db, keys

    source = Path(tmp) / "source.bin"
    began = time.perf_counter()
    with app.app_context():
        patient = db.session.execute(select(User).where(User.login == PATIENT_LOGIN)).scalar_one()
        for number in range(start, stop):
            write_source(source, DOCUMENT_SIZE)
            vault.add_document(
                db.session, keys.ring, blobs.store, patient=patient, author=patient,
                path=source, size=DOCUMENT_SIZE, kind="pdf", mimetype="application/pdf",
                file_name=f"document-{number + 1:03}.pdf", title=f"Document {number + 1}",
                category=Category(CATEGORIES[number % len(CATEGORIES)]),
                document_date=date(2025, 1, 1) + timedelta(days=number), hidden=False,
                source="benchmark", actor=audit.Actor())
            db.session.commit()
            if (number + 1) % 20 == 0:
                print(f"  {number + 1} documents added ({(number + 1) * DOCUMENT_SIZE // MB:,} "
                      f"MB, {time.perf_counter() - began:.0f} s)", flush=True)
    source.unlink()


class Counted:
    """A write-only sink that counts and drops what zipfile writes (diagnostic ZIPs)."""

    def __init__(self):
        self.size = 0

    def write(self, data) -> int:
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass


# The targets: each runs once and returns (seconds, bytes handed out) -----------------------

class Targets:
    """The patient's rows, loaded once; `client` (signed in) for the HTTP target."""

    def __init__(self, app, client=None):
        from sqlalchemy import select

        from domain.models import Document, User
        from extensions import db

        self.app, self.client = app, client
        with app.app_context():
            self.patient = db.session.execute(
                select(User).where(User.login == PATIENT_LOGIN)).scalar_one()
            self.documents = db.session.scalars(select(Document).where(
                Document.patient_id == self.patient.id).order_by(Document.document_date)).all()
        self.sealed: bytes | None = None

    def floor(self) -> tuple[float, int]:
        from extensions import blobs

        if self.sealed is None:  # one document's size, sealed once in this run, untimed
            self.key, self.nonce = new_data_key(), os.urandom(NONCE_BYTES)
            self.associated = b"documents.benchmark"
            self.sealed = AESGCM(self.key).encrypt(self.nonce, os.urandom(DOCUMENT_SIZE),
                                                   self.associated)
        total = 0
        with self.app.app_context():
            store = blobs.store
            aead = AESGCM(self.key)
            start = time.perf_counter()
            for document in self.documents:
                blob = b"".join(store.open(document.blob_key, chunk_size=document.blob_size))
                total += len(aead.decrypt(self.nonce, self.sealed, self.associated))
                del blob
            return time.perf_counter() - start, total

    def decrypt(self, documents=None) -> tuple[float, int]:
        from domain import vault
        from extensions import blobs, keys

        total = 0
        with self.app.app_context():
            start = time.perf_counter()
            for document in documents or self.documents:
                for piece in vault.open_content(keys.ring, blobs.store, self.patient, document):
                    total += len(piece)
            return time.perf_counter() - start, total

    def export(self) -> tuple[float, int]:
        from domain import exports
        from extensions import blobs, db, keys

        total = 0
        with self.app.app_context():
            start = time.perf_counter()
            for piece in exports.space_archive_stream(db.session, self.patient, keys.ring,
                                                      blobs.store):
                total += len(piece)
            return time.perf_counter() - start, total

    def http(self) -> tuple[float, int]:
        total = pieces = 0
        start = time.perf_counter()
        response = self.client.get(EXPORT_PATH, buffered=False)
        try:
            if response.status_code != 200 or "Content-Length" in response.headers:
                raise RuntimeError(f"{EXPORT_PATH}: status {response.status_code}, "
                                   f"headers {dict(response.headers)}")
            for piece in response.response:
                total += len(piece)
                pieces += 1
        finally:
            response.close()
        return time.perf_counter() - start, total

    def zip_of(self, compression: int) -> tuple[float, int]:
        """The first DEFLATED documents decrypted into a ZIP as the export writes one, with
        this compression for the documents."""
        from domain import vault
        from extensions import blobs, keys

        sink = Counted()
        with self.app.app_context():
            start = time.perf_counter()
            with zipfile.ZipFile(sink, "w") as archive:
                for document in self.documents[:DEFLATED]:
                    info = zipfile.ZipInfo(f"{document.id}.pdf", date_time=(2026, 1, 1, 0, 0, 0))
                    info.compress_type, info.file_size = compression, document.size
                    with archive.open(info, "w") as target:
                        for piece in vault.open_content(keys.ring, blobs.store, self.patient,
                                                        document):
                            target.write(piece)
            return time.perf_counter() - start, sink.size


# 1. Throughput -------------------------------------------------------------------------------

THROUGHPUT_ROWS = (
    ("floor", "blobs read whole + one-shot AES-GCM (floor)"),
    ("decrypt", "vault.open_content, every document"),
    ("export", "space_archive_stream (domain)"),
    ("http", f"GET {EXPORT_PATH} (test client)"),
)


def throughput(targets: Targets) -> dict[str, int]:
    runs = {name: getattr(targets, name) for name, _label in THROUGHPUT_ROWS}
    print(f"Warm-up: each target once ({DOCUMENTS * DOCUMENT_SIZE // MB:,} MB each)…",
          flush=True)
    sizes = {}
    for name, run in runs.items():
        seconds, sizes[name] = run()
        print(f"  {name}: {seconds:.1f} s", flush=True)
    samples = {name: [] for name in runs}
    order = list(runs)
    shuffle = random.Random(5)
    for number in range(RUNS):
        shuffle.shuffle(order)
        for name in order:
            seconds, size = runs[name]()
            if abs(size - sizes[name]) > 4096:  # the JSON files' dates deflate a byte apart
                raise RuntimeError(f"{name}: {size} bytes this time, {sizes[name]} before")
            samples[name].append(seconds)
        print(f"  run {number + 1} of {RUNS} done", flush=True)

    documents = DOCUMENTS * DOCUMENT_SIZE
    print_title(f"1. Throughput of an export of {DOCUMENTS} documents of "
                f"{DOCUMENT_SIZE // MB} MB, median of {RUNS} runs (ratio = floor time / time)")
    print(f"{'operation':<47} {'median s':>9} {'MB/s':>8} {'ratio':>7}  verdict")
    floor = median(samples["floor"])
    for name, label in THROUGHPUT_ROWS:
        seconds = median(samples[name])
        ratio = floor / seconds
        mark = "" if name == "floor" else verdict(ratio >= STREAM_RATIO)
        print(f"{label:<47} {seconds:>9.2f} {documents / MB / seconds:>8,.0f} {ratio:>6.2f}×  "
              f"{mark}")
    print(f"MB/s of document content (MB = 10^6 bytes). The archive is {sizes['export']:,} bytes "
          f"for {documents:,} bytes of documents (+{sizes['export'] - documents:,}: headers, "
          "data descriptors, the central directory and the JSON files). The floor touches no "
          "ZIP and holds each blob and plaintext whole; the export adds CRC-32 and a copy per "
          "chunk, the HTTP row the request (audit row, session) and the test client. "
          f"Verdict against DESIGN.md §5's ≥ {STREAM_RATIO:g}× for document streams.")
    return sizes


# 2. Stored or deflated -----------------------------------------------------------------------

def stored_or_deflated(targets: Targets) -> None:
    samples = {zipfile.ZIP_STORED: [], zipfile.ZIP_DEFLATED: []}
    sizes = {}
    decrypt = []
    for _run in range(RUNS):
        for compression in samples:
            seconds, sizes[compression] = targets.zip_of(compression)
            samples[compression].append(seconds)
        decrypt.append(targets.decrypt(targets.documents[:DEFLATED])[0])
    stored, deflated = median(samples[zipfile.ZIP_STORED]), median(samples[zipfile.ZIP_DEFLATED])
    decrypted = median(decrypt)
    volume = DEFLATED * DOCUMENT_SIZE

    print_title(f"2. Documents stored or deflated (diagnostic): {DEFLATED} documents of "
                f"{DOCUMENT_SIZE // MB} MB, median of {RUNS} runs")
    print(f"{'documents in the ZIP':<34} {'median s':>9} {'MB/s':>8} {'vs stored':>10} "
          f"{'ZIP bytes':>14}")
    for label, seconds, size in (("decrypted only (no ZIP)", decrypted, None),
                                 ("stored (ZIP_STORED, the export)", stored,
                                  sizes[zipfile.ZIP_STORED]),
                                 ("deflated (ZIP_DEFLATED, level 6)", deflated,
                                  sizes[zipfile.ZIP_DEFLATED])):
        cells = f"{size:>14,}" if size is not None else f"{'-':>14}"
        print(f"{label:<34} {seconds:>9.2f} {volume / MB / seconds:>8,.0f} "
              f"{seconds / stored:>9.1f}× {cells}")
    kept = sizes[zipfile.ZIP_DEFLATED] / sizes[zipfile.ZIP_STORED]
    print(f"Random bytes are deflate's worst case: all the work, no gain ({kept:.4f} of the "
          "stored size). What real PDF and JPEG files would gain is not measured here (their "
          "content is already compressed: typically a few per cent).")


# 3. Memory -----------------------------------------------------------------------------------

def tracemalloc_peak(operation) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        operation()
        return tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()


def rss_child() -> None:
    """Child process: on the parent's instance, one export or one document's download, with
    its own peak RSS before and after (a short warm-up of the same path first)."""
    from domain import exports
    from extensions import blobs, db, keys

    job = json.loads(sys.stdin.read())
    app = build_app(job["tmp"], job["url"])
    targets = Targets(app)
    with app.app_context():
        warm = exports.space_archive_stream(db.session, targets.patient, keys.ring,
                                            blobs.store)
        for _piece, _number in zip(warm, range(3), strict=False):
            pass
        warm.close()
    gc.collect()
    before = vmhwm_bytes()
    if job["mode"] == "export":
        _seconds, done = targets.export()
    else:
        _seconds, done = targets.decrypt(targets.documents[:1])
    print(json.dumps({"before": before, "after": vmhwm_bytes(), "done": done}))


def run_rss_child(tmp: str, url: str, mode: str) -> dict:
    result = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--rss-child"],
                            input=json.dumps({"tmp": tmp, "url": url, "mode": mode}),
                            capture_output=True, text=True, check=False, timeout=900)
    if result.returncode != 0:
        raise RuntimeError(f"RSS child failed: {result.stderr.strip()[-800:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def memory(peaks: dict[str, int], rss: dict[str, dict], archive_size: int) -> None:
    print_title("3. Peak memory while the export streams")
    print(f"{'operation':<40} {'tracemalloc peak':>17} {'chunks':>7} {'vs download':>12} "
          f"{'vs document':>12} {'vs archive':>11}")
    download = peaks["download"]
    for key, label in (("download", f"one document's download ({DOCUMENT_SIZE // MB} MB)"),
                       ("export-first", f"export, {FIRST} documents "
                                        f"({FIRST * DOCUMENT_SIZE // MB:,} MB)"),
                       ("export", f"export, {DOCUMENTS} documents "
                                  f"({DOCUMENTS * DOCUMENT_SIZE // MB:,} MB)")):
        peak = peaks[key]
        share = f"{peak / archive_size:>10.4%}" if key == "export" else f"{'-':>10}"
        print(f"{label:<40} {peak:>11,} bytes {peak / CHUNK_SIZE:>7.1f} "
              f"{peak / download:>11.1f}× {peak / DOCUMENT_SIZE:>11.1%} {share}")
    growth = peaks["export"] / peaks["export-first"]
    per_document = (peaks["export"] - peaks["export-first"]) / (DOCUMENTS - FIRST)
    print(f"From {FIRST} to {DOCUMENTS} documents the export's peak grows {growth:.2f}×: "
          f"{per_document:,.0f} bytes per document (its row, read before the stream, and the "
          "entry zipfile keeps for the central directory); the content never accumulates. "
          "tracemalloc counts Python allocations only (OpenSSL's buffers are "
          f"not included); chunks of {CHUNK_SIZE:,} bytes. The former export built the "
          f"archive in a BytesIO: at least {archive_size:,} bytes here, plus getvalue()'s copy.")
    if rss["export"]["before"] is None:
        print("Peak RSS: no /proc/self/status on this system.")
        return
    print()
    print("Peak RSS (VmHWM) growth of a fresh child process, after a short warm-up of the "
          "same path (KiB):")
    print(f"{'operation':<40} {'before':>9} {'after':>9} {'growth':>8}")
    for key, label in (("download", f"one document's download ({DOCUMENT_SIZE // MB} MB)"),
                       ("export", f"export, {DOCUMENTS} documents")):
        figures = rss[key]
        print(f"{label:<40} {figures['before'] // 1024:>9,} {figures['after'] // 1024:>9,} "
              f"{(figures['after'] - figures['before']) // 1024:>8,}")
    print("Whole pages, allocator slack and OpenSSL included: coarser than tracemalloc.")


def check_archive(targets: Targets, tmp: str) -> str:
    """The export written to a file once: zipfile's testzip() and `unzip -tq` on it."""
    from domain import exports
    from extensions import blobs, db, keys

    path = Path(tmp) / "export.zip"
    with targets.app.app_context(), path.open("wb") as handle:
        for piece in exports.space_archive_stream(db.session, targets.patient, keys.ring,
                                                  blobs.store):
            handle.write(piece)
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            count = len(archive.namelist())
        if bad is not None:
            return f"! testzip(): {bad} is damaged"
        result = "not run (no unzip)"
        if shutil.which("unzip"):
            run = subprocess.run(["unzip", "-tq", str(path)], capture_output=True, text=True,
                                 check=False)
            result = "OK" if run.returncode == 0 else f"FAILED: {run.stdout.strip()[-300:]}"
        return f"{count} entries; zipfile testzip() OK; unzip -tq {result}"
    finally:
        path.unlink()


def main() -> None:
    started, cpu_started = time.perf_counter(), time.process_time()
    with bench_instance("export") as (app, database, tmp):
        print("Carnet santé — space export benchmarks (a streamed ZIP of 1 GB of documents)")
        print_environment(database, tmp)
        print(f"\nAdding {FIRST} documents of {DOCUMENT_SIZE // MB} MB…", flush=True)
        seed_documents(app, tmp, 0, FIRST)
        targets = Targets(app, sign_in(app, PATIENT_LOGIN, TotpClock()))
        targets.export()  # first use of each query and module, outside the measurement
        peaks = {"download": tracemalloc_peak(lambda: targets.decrypt(targets.documents[:1])),
                 "export-first": tracemalloc_peak(targets.export)}
        print(f"Adding {DOCUMENTS - FIRST} more ({DOCUMENTS * DOCUMENT_SIZE // MB:,} MB "
              "in all)…", flush=True)
        seed_documents(app, tmp, FIRST, DOCUMENTS)
        targets = Targets(app, targets.client)
        print("Peak RSS of a child process: one download, then one export…", flush=True)
        rss = {mode: run_rss_child(tmp, database.url, mode) for mode in ("download", "export")}
        print("Checking the archive (zipfile, unzip)…", flush=True)
        checked = check_archive(targets, tmp)
        print("tracemalloc during an export of 1 GB…", flush=True)
        peaks["export"] = tracemalloc_peak(targets.export)
        sizes = throughput(targets)
        print(f"Archive check: {checked}")
        print("\nStored or deflated…", flush=True)
        stored_or_deflated(targets)
        memory(peaks, rss, sizes["export"])
        print_finished("export.py", started, cpu_started)


if __name__ == "__main__":
    if sys.argv[1:] == ["--rss-child"]:
        rss_child()
    else:
        main()
