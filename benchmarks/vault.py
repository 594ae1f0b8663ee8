"""Document vault: streaming encryption speed and memory, and the cost of a long list.

Run from the project root: `.venv/bin/python benchmarks/vault.py` (or `make bench`).
Prints figures against DESIGN.md section 5; never asserts anything about time or memory.

1. Throughput of upload+encrypt (encrypt_chunks reading a file on disk, into
   LocalBlobStore.put) and of download+decrypt (decrypt_chunks over store.open(), chunk by
   chunk) for 20 MB and 100 MB, as a ratio to one-shot AES-256-GCM on the whole bytes of
   the same size in the same run (target ≥ 0.5×). Median of 3 runs, interleaved.
2. Peak extra memory of a 100 MB upload+encrypt and download+decrypt: tracemalloc (Python
   allocations) in this process, and the growth of the peak RSS (getrusage maxrss) in a
   fresh child process per operation, run first (target ≤ 2 chunks).
3. GET /documents for one patient with 10, 1,000 and 10,000 documents: first page, a title
   search (which opens every sealed title) and a category filter; growth vs 10 documents.

Everything lives in a temporary folder; the project's instance/ is never touched.
"""

from __future__ import annotations

import gc
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from benchmarks._common import (  # noqa: E402
    HELLO_PATH,
    TotpClock,
    build_app,
    median,
    prepare_database,
    sign_in,
    verdict,
    vmhwm_bytes,
    write_source,
)
from domain.crypto import (  # noqa: E402
    CHUNK_SIZE,
    NONCE_BYTES,
    decrypt_chunks,
    document_binding,
    encrypt_chunks,
    new_data_key,
)
from domain.models.base import new_id  # noqa: E402
from domain.storage import LocalBlobStore  # noqa: E402

MB = 1_000_000
SIZES = (20 * MB, 100 * MB)
MEMORY_SIZE = 100 * MB
RUNS = 3                       # median of 3 for every throughput figure
STREAM_RATIO = 0.5             # DESIGN.md §5: streams ≥ 0.5× one-shot AES-GCM
MEMORY_CHUNKS = 2              # DESIGN.md §5: extra memory ≤ 2 chunks

LIST_SIZES = (10, 1_000, 10_000)
LIST_WARMUP = 3                # requests per target before measuring
LIST_ROUNDS = 8                # rounds; each target runs LIST_BATCH requests per round
LIST_BATCH = 3                 # -> 24 timed requests per target and list size
SEARCH_WORD = "radiographie"   # in about one title in eight
PATIENT_LOGIN = "camille.martin"
COUNT_RE = re.compile(r'<h2 id="document-list-title"[^>]*>([^<]*)</h2>')


def print_title(title: str) -> None:
    print()
    print(title)
    print("-" * len(title))


def file_pieces(path: Path):
    """The file in CHUNK_SIZE pieces, as domain.vault.add_document reads an upload."""
    with path.open("rb") as handle:
        while piece := handle.read(CHUNK_SIZE):
            yield piece


def memory_pieces(view: memoryview):
    """The bytes already in memory, in CHUNK_SIZE pieces (no copy)."""
    for offset in range(0, len(view), CHUNK_SIZE):
        yield view[offset:offset + CHUNK_SIZE]


class Stream:
    """One document's key, binding and blob key: upload it, then download it."""

    def __init__(self, store: LocalBlobStore):
        self.store = store
        self.key = new_data_key()
        self.binding = document_binding(new_id(), new_id())
        self.blob_key = new_id()

    def upload(self, source: Path, size: int) -> int:
        return self.store.put(
            self.blob_key, encrypt_chunks(self.key, self.binding, file_pieces(source), size))

    def download(self) -> int:
        received = 0
        # As vault.open_content does: the recorded blob size spares the read-ahead.
        for piece in decrypt_chunks(self.key, self.binding, self.store.open(self.blob_key),
                                    self.store.size(self.blob_key)):
            received += len(piece)
        return received

    def delete(self) -> None:
        self.store.delete(self.blob_key)


def timed(function, *args) -> tuple[float, object]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


# 1. Throughput -------------------------------------------------------------------------------

def throughput(tmp: Path, sources: dict[int, Path]) -> None:
    store = LocalBlobStore(tmp / "blobs")
    samples = {(size, label): [] for size in SIZES
               for label in ("one-shot encrypt", "upload+encrypt", "one-shot decrypt",
                             "download+decrypt", "encrypt_chunks only", "decrypt_chunks only")}
    for size in SIZES:  # warm-up: page cache, OpenSSL, allocator
        stream = Stream(store)
        stream.upload(sources[size], size)
        stream.download()
        stream.delete()
    for _run in range(RUNS):
        for size in SIZES:
            data = sources[size].read_bytes()
            key, nonce = new_data_key(), os.urandom(NONCE_BYTES)
            associated = document_binding(new_id(), new_id()).encode()
            seconds, sealed = timed(AESGCM(key).encrypt, nonce, data, associated)
            samples[size, "one-shot encrypt"].append(seconds)
            seconds, opened = timed(AESGCM(key).decrypt, nonce, sealed, associated)
            samples[size, "one-shot decrypt"].append(seconds)
            if opened != data:
                raise RuntimeError("one-shot AES-GCM did not round-trip")
            del sealed, opened

            # Diagnostic: the chunked crypto alone, from memory to nowhere (no disk).
            # Output discarded as it comes (as put() does), so it stays in the CPU caches.
            view = memoryview(data)
            start = time.perf_counter()
            for _sealed in encrypt_chunks(key, "bench", memory_pieces(view), size):
                pass
            samples[size, "encrypt_chunks only"].append(time.perf_counter() - start)
            blob = list(encrypt_chunks(key, "bench", memory_pieces(view), size))
            start = time.perf_counter()
            clear = sum(len(piece) for piece in decrypt_chunks(key, "bench", blob))
            samples[size, "decrypt_chunks only"].append(time.perf_counter() - start)
            del blob, view, data, _sealed
            if clear != size:
                raise RuntimeError("decrypt_chunks did not round-trip")
            gc.collect()

            stream = Stream(store)
            seconds, written = timed(stream.upload, sources[size], size)
            samples[size, "upload+encrypt"].append(seconds)
            seconds, received = timed(stream.download)
            samples[size, "download+decrypt"].append(seconds)
            stream.delete()
            if received != size:
                raise RuntimeError(f"download returned {received} bytes instead of {size}")

    print_title(f"1. Streaming throughput vs one-shot AES-256-GCM, median of {RUNS} runs: "
                f"target ≥ {STREAM_RATIO:g}×")
    print(f"{'size':>7} {'operation':<34} {'median s':>9} {'MB/s':>8} {'ratio':>7}  verdict")
    for size in SIZES:
        rows = (("one-shot encrypt", None, None), ("upload+encrypt", "one-shot encrypt", True),
                ("encrypt_chunks only", "one-shot encrypt", False),
                ("one-shot decrypt", None, None),
                ("download+decrypt", "one-shot decrypt", True),
                ("decrypt_chunks only", "one-shot decrypt", False))
        for label, base_label, judged in rows:
            seconds = median(samples[size, label])
            rate = size / MB / seconds
            name = {"one-shot encrypt": "one-shot AESGCM.encrypt (baseline)",
                    "one-shot decrypt": "one-shot AESGCM.decrypt (baseline)",
                    "upload+encrypt": "upload+encrypt (file → store)",
                    "download+decrypt": "download+decrypt (store → chunks)",
                    "encrypt_chunks only": "  crypto only (memory, no disk)",
                    "decrypt_chunks only": "  crypto only (memory, no disk)"}[label]
            if base_label is None:
                print(f"{size // MB:>4} MB {name:<34} {seconds:>9.3f} {rate:>8,.0f} {1:>6.2f}×")
                continue
            ratio = median(samples[size, base_label]) / seconds
            mark = verdict(ratio >= STREAM_RATIO) if judged else "(diagnostic)"
            print(f"{size // MB:>4} MB {name:<34} {seconds:>9.3f} {rate:>8,.0f} {ratio:>6.2f}×  "
                  f"{mark}")
    print(f"MB = 10^6 bytes; ratio = one-shot time / streamed time. Chunks of {CHUNK_SIZE:,} "
          "bytes. Upload includes reading the source file and LocalBlobStore's fsync; the "
          "source and the just-written blob are read from the page cache. The baseline holds "
          "the whole plaintext and ciphertext in memory and touches no disk.")


# 2. Memory -----------------------------------------------------------------------------------

def tracemalloc_peak(operation, *args) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        operation(*args)
        return tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()


def maxrss_bytes() -> int:
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value if sys.platform == "darwin" else value * 1024  # macOS: bytes; Linux: KiB


def rss_child() -> None:
    """Child process: one upload or download, its peak RSS before and after."""
    job = json.loads(sys.stdin.read())
    store = LocalBlobStore(Path(job["root"]))
    warm = Stream(store)  # first use of OpenSSL and the file system, unmeasured
    tiny = Path(job["root"]).parent / f"tiny-{job['mode']}.bin"
    write_source(tiny, 3 * CHUNK_SIZE + 5)
    warm.upload(tiny, 3 * CHUNK_SIZE + 5)
    warm.download()
    warm.delete()
    tiny.unlink()
    stream = Stream(store)
    stream.key, stream.binding = bytes.fromhex(job["key"]), job["binding"]
    stream.blob_key = job["blob_key"]
    gc.collect()
    before, hwm_before = maxrss_bytes(), vmhwm_bytes()
    if job["mode"] == "upload":
        done = stream.upload(Path(job["source"]), job["size"])
    else:
        done = stream.download()
    after, hwm_after = maxrss_bytes(), vmhwm_bytes()
    print(json.dumps({"before": before, "after": after, "hwm_before": hwm_before,
                      "hwm_after": hwm_after, "done": done}))


def run_rss_child(job: dict) -> dict:
    result = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--rss-child"],
                            input=json.dumps(job), capture_output=True, text=True, check=False,
                            timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"RSS child failed: {result.stderr.strip()[-500:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure_rss(tmp: Path, sources: dict[int, Path]) -> dict[str, dict]:
    """Run first, before this process holds any large buffer: on Linux a child's ru_maxrss
    starts from its parent's peak at the time of the spawn (it survives fork and exec)."""
    store = LocalBlobStore(tmp / "blobs")
    stream = Stream(store)
    job = {"root": str(store.root), "key": stream.key.hex(), "binding": stream.binding,
           "blob_key": stream.blob_key, "source": str(sources[MEMORY_SIZE]),
           "size": MEMORY_SIZE}
    figures = {"parent": maxrss_bytes()}
    figures["upload+encrypt"] = run_rss_child({**job, "mode": "upload"})
    figures["download+decrypt"] = run_rss_child({**job, "mode": "download"})
    stream.delete()
    if figures["download+decrypt"]["done"] != MEMORY_SIZE:
        raise RuntimeError("the child's download did not round-trip")
    return figures


def memory(tmp: Path, sources: dict[int, Path], rss: dict[str, dict]) -> None:
    store = LocalBlobStore(tmp / "blobs")
    warm = Stream(store)  # first use of OpenSSL and the folders, outside the measurement
    warm.upload(sources[SIZES[0]], SIZES[0])
    warm.download()
    warm.delete()

    print_title(f"2. Peak extra memory while streaming: target ≤ {MEMORY_CHUNKS} chunks "
                f"({MEMORY_CHUNKS * CHUNK_SIZE:,} bytes)")
    print(f"{'size':>7} {'operation':<18} {'tracemalloc peak':>17} {'chunks':>7}  verdict")
    for size in sorted({SIZES[0], MEMORY_SIZE}):
        stream = Stream(store)
        up = tracemalloc_peak(stream.upload, sources[size], size)
        down = tracemalloc_peak(stream.download)
        stream.delete()
        for label, peak in (("upload+encrypt", up), ("download+decrypt", down)):
            chunks = peak / CHUNK_SIZE
            print(f"{size // MB:>4} MB {label:<18} {peak:>11,} bytes {chunks:>7.2f}  "
                  f"{verdict(chunks <= MEMORY_CHUNKS)}")
    print("tracemalloc counts Python allocations only (bytes objects, buffers, frames): "
          "OpenSSL's internal buffers and the cipher context are not included. Peak minus "
          "the traced memory when tracing started, the source file already on disk.")

    print()
    print(f"Coarser: peak RSS growth of a fresh process doing one {MEMORY_SIZE // MB} MB "
          "operation (KiB)")
    print(f"{'operation':<18} {'ru_maxrss before':>16} {'after':>9} {'growth':>7} "
          f"{'VmHWM before':>13} {'after':>9} {'growth':>7}")
    for label in ("upload+encrypt", "download+decrypt"):
        figures = rss[label]
        cells = [f"{figures['before'] // 1024:>16,} {figures['after'] // 1024:>9,} "
                 f"{(figures['after'] - figures['before']) // 1024:>7,}"]
        if figures["hwm_before"] is not None:
            cells.append(f"{figures['hwm_before'] // 1024:>13,} {figures['hwm_after'] // 1024:>9,} "
                         f"{(figures['hwm_after'] - figures['hwm_before']) // 1024:>7,}")
        print(f"{label:<18} " + " ".join(cells))
    print("ru_maxrss (getrusage, in "
          f"{'bytes on macOS' if sys.platform == 'darwin' else 'KiB on Linux'}) of a child "
          "starts from the parent's peak at the spawn "
          f"({rss['parent'] // 1024:,} KiB here): growth below that is hidden. VmHWM "
          "(/proc/self/status) is the child's own peak. Measured after a 3-chunk warm-up "
          "upload and download in the child (imports, OpenSSL, allocator); both count "
          "whole pages, allocator slack included: coarser than tracemalloc.")


# 3. Document list ----------------------------------------------------------------------------

TITLES = (  # (category, title pattern); one in eight mentions SEARCH_WORD
    ("prescriptions", "Ordonnance du Dr Bernard n° {n}"),
    ("lab_results", "Analyse sanguine — bilan lipidique {n}"),
    ("imaging", "Radiographie du genou droit {n}"),
    ("reports", "Compte rendu de consultation cardiologie {n}"),
    ("certificates", "Certificat médical de non contre-indication {n}"),
    ("prevention", "Vaccination antigrippale saison {n}"),
    ("administrative", "Attestation de droits Assurance maladie {n}"),
    ("summary", "Synthèse médicale du médecin traitant {n}"),
)




def seed_documents(app, start: int, stop: int, rng: random.Random) -> dict[str, int]:
    """Documents start..stop-1 for the patient, inserted in bulk. Titles and file names are
    sealed with the patient key exactly as vault.add_document seals them; the blobs do not
    exist (the list never opens them). Returns how many titles match SEARCH_WORD and how
    many are in the reports category, among the new ones."""
    from sqlalchemy import insert, select

    from domain import vault
    from domain.crypto import seal, wrap_data_key
    from domain.models import AuthorKind, Category, Document, User
    from domain.models.base import utcnow
    from extensions import db, keys

    added = {"search": 0, "reports": 0}
    with app.app_context():
        patient = db.session.execute(select(User).where(User.login == PATIENT_LOGIN)).scalar_one()
        doctor = db.session.execute(select(User).where(User.login == "dr.bernard")).scalar_one()
        key = vault.patient_key(keys.ring, patient)
        now, today = utcnow(), date.today()
        rows = []
        for number in range(start, stop):
            document_id = new_id()
            category, pattern = TITLES[number % len(TITLES)]
            title = pattern.format(n=number + 1)
            added["search"] += SEARCH_WORD in title.casefold()
            added["reports"] += category == "reports"
            by_patient = rng.random() < 0.5
            size = rng.randint(20_000, 3_000_000)
            rows.append({
                "id": document_id, "patient_id": patient.id,
                "author_id": patient.id if by_patient else doctor.id,
                "author_kind": AuthorKind.PATIENT if by_patient else AuthorKind.PROFESSIONAL,
                "source": "upload" if by_patient else "professional",
                "category": Category(category),
                "title_sealed": seal(key, title.encode(), f"documents.title.{document_id}"),
                "file_name_sealed": seal(key, f"document-{number + 1}.pdf".encode(),
                                         f"documents.file_name.{document_id}"),
                "document_date": today - timedelta(days=rng.randint(0, 3650)),
                "deposited_at": now - timedelta(seconds=rng.randint(0, 10 * 365 * 86400)),
                "hidden": rng.random() < 0.1, "kind": "pdf", "mimetype": "application/pdf",
                "size": size, "blob_key": new_id(),
                "blob_size": 16 + size + 16 * -(-size // CHUNK_SIZE),
                "checksum": os.urandom(32).hex(), "wrapped_key": wrap_data_key(key, new_data_key()),
                "scheme": 1,
            })
        for offset in range(0, len(rows), 2_000):
            db.session.execute(insert(Document), rows[offset:offset + 2_000])
        db.session.commit()
    return added


def shown_count(html: str) -> int | None:
    match = COUNT_RE.search(html)
    if not match:
        return None
    digits = re.sub(r"\D", "", match.group(1))
    return int(digits) if digits else None


def document_list(tmp: Path) -> None:
    app = build_app(str(tmp / "instance"))
    try:
        prepare_database(app)
        client = sign_in(app, PATIENT_LOGIN, TotpClock())
        hello = app.test_client(use_cookies=False)
        targets = {"first page": "/documents",
                   f"search ?q={SEARCH_WORD}": f"/documents?q={SEARCH_WORD}",
                   "category ?categorie=reports": "/documents?categorie=reports"}
        rng = random.Random(7)
        expected = {"search": 0, "reports": 0}
        results: dict[int, dict[str, float]] = {}
        seeded = 0
        seeding: dict[int, float] = {}
        failures: list[str] = []
        for count in LIST_SIZES:
            start = time.perf_counter()
            for name, value in seed_documents(app, seeded, count, rng).items():
                expected[name] += value
            seeding[count] = time.perf_counter() - start
            seeded = count
            totals = {"first page": count, f"search ?q={SEARCH_WORD}": expected["search"],
                      "category ?categorie=reports": expected["reports"]}
            for name, path in targets.items():  # warm-up and a check of what is shown
                for _ in range(LIST_WARMUP):
                    response = client.get(path)
                html = response.get_data(as_text=True)
                if response.status_code != 200 or shown_count(html) != totals[name]:
                    failures.append(f"{count:,} documents, {name}: status "
                                    f"{response.status_code}, shows {shown_count(html)} "
                                    f"documents instead of {totals[name]}")
            samples = {name: [] for name in [*targets, "hello"]}
            order = [*targets, "hello"]
            shuffle = random.Random(count)
            for _ in range(LIST_ROUNDS):
                shuffle.shuffle(order)
                for name in order:
                    who, path = (hello, HELLO_PATH) if name == "hello" else (client, targets[name])
                    for _ in range(LIST_BATCH):
                        begin = time.perf_counter_ns()
                        who.get(path).get_data()
                        samples[name].append(time.perf_counter_ns() - begin)
            results[count] = {name: median(values) / 1e6 for name, values in samples.items()}

        print_title(f"3. GET /documents for one patient, median of {LIST_ROUNDS * LIST_BATCH} "
                    "requests (test client): cost growth vs 10 documents")
        print(f"{'documents':>9} {'added in':>9}  "
              + "  ".join(f"{name:>27}" for name in targets) + f"  {'hello world':>11}")
        print(f"{'':>9} {'':>9}  " + "  ".join(f"{'ms':>17} {'growth':>9}" for _ in targets)
              + f"  {'ms':>11}")
        base = results[LIST_SIZES[0]]
        for count in LIST_SIZES:
            cells = [f"{results[count][name]:>17.2f} {results[count][name] / base[name]:>8.1f}×"
                     for name in targets]
            print(f"{count:>9,} {seeding[count]:>8.1f}s  " + "  ".join(cells)
                  + f"  {results[count]['hello']:>11.2f}")
        search = f"search ?q={SEARCH_WORD}"
        per_document = ((results[LIST_SIZES[-1]][search] - base[search])
                        / (LIST_SIZES[-1] - LIST_SIZES[0]) * 1000)
        print(f"Search opens every sealed title of the patient: about "
              f"{per_document:,.0f} µs per document ({LIST_SIZES[-1]:,} documents: "
              f"{results[LIST_SIZES[-1]][search]:,.0f} ms). The first page and the category "
              "filter read 20 rows (plus a COUNT and the per-category counts).")
        print(f"Matches shown: search {expected['search']:,} of {LIST_SIZES[-1]:,}, "
              f"category reports {expected['reports']:,}. SQLite on a temporary file; "
              "documents inserted in bulk, their blobs not written (the list never opens them).")
        for failure in failures:
            print(f"! {failure}")
    finally:
        from extensions import db
        with app.app_context():
            db.engine.dispose()


def main() -> None:
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="carnet-bench-vault-"))
    try:
        from cryptography.hazmat.backends.openssl.backend import backend
        print("Carnet santé — document vault benchmarks (streams, memory, list)")
        print(f"Python {sys.version.split()[0]}; {backend.openssl_version_text()}; "
              f"{os.cpu_count()} CPUs; temporary folder {tmp}")
        sources = {}
        for size in sorted({*SIZES, MEMORY_SIZE}):
            sources[size] = tmp / f"source-{size // MB}MB.bin"
            write_source(sources[size], size)
        rss = measure_rss(tmp, sources)  # first: before this process's peak grows
        throughput(tmp, sources)
        memory(tmp, sources, rss)
        for path in sources.values():
            path.unlink()
        document_list(tmp)
        print(f"\nvault.py finished in {time.perf_counter() - started:.0f} s.")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--rss-child"]:
        rss_child()
    else:
        main()
