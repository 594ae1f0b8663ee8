"""Files of the installation only its own user may read: the instance folder, the
database and its WAL, development e-mails and SMS (codes in clear), the upload spool."""

from __future__ import annotations

import os
import stat

from sqlalchemy import text

from config import load_config
from domain.db import make_engine
from domain.files import private_dir, write_private
from domain.notify import Mailer, Outbox, build_email


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_instance_folder_and_its_secrets_are_private(tmp_path):
    instance = tmp_path / "instance"
    load_config(instance, {})
    assert _mode(instance) == 0o700
    assert _mode(instance / "keys.json") == 0o600
    assert _mode(instance / "secret_key") == 0o600


def test_an_existing_instance_folder_open_to_others_is_closed(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    os.chmod(instance, 0o755)  # noqa: S103 - the mode the test must close
    load_config(instance, {})
    assert _mode(instance) == 0o700


def test_the_sqlite_database_and_its_wal_are_private(tmp_path):
    old = os.umask(0o022)  # as under `make run`
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'carnet.db'}")
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT x FROM t")).scalar() == 1
            assert _mode(tmp_path / "data" / "carnet.db") == 0o600
            assert _mode(tmp_path / "data" / "carnet.db-wal") == 0o600
        assert _mode(tmp_path / "data") == 0o700
        engine.dispose()
    finally:
        os.umask(old)


def test_development_e_mails_and_sms_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        Mailer("", tmp_path / "outbox").deliver(bytes(build_email(
            "a@example.org", "b@example.org", "Code", "Votre code est 123456.")))
        Outbox(tmp_path / "outbox").send_sms("+33600000000", "Code 123456")
    finally:
        os.umask(old)
    for kind in ("email", "sms"):
        folder = tmp_path / "outbox" / kind
        assert _mode(folder) == 0o700
        (written,) = list(folder.iterdir())
        assert _mode(written) == 0o600


def test_private_files_never_overwrite_unless_asked(tmp_path):
    path = write_private(tmp_path / "letters", "codes.pdf", b"one")
    try:
        write_private(tmp_path / "letters", "codes.pdf", b"two")
    except FileExistsError:
        pass
    else:
        raise AssertionError("overwrote")
    os.chmod(path, 0o644)
    write_private(tmp_path / "letters", "codes.pdf", b"three", replace=True)
    assert path.read_bytes() == b"three" and _mode(path) == 0o600


def test_private_dir_creates_every_missing_parent_closed(tmp_path):
    private_dir(tmp_path / "a" / "b" / "c")
    for folder in ("a", "a/b", "a/b/c"):
        assert _mode(tmp_path / folder) == 0o700
