"""Create the key file of a new installation: `.venv/bin/python scripts/new_key_file.py PATH`.

A separate script because the app refuses to start in production without a key file, so no
`flask` command can make the first one. It writes KEK version 1, the audit, index and server
keys (mode 0600) and refuses to overwrite anything: losing the key file loses every
document, profile and message for good. Back it up apart from the database backups.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from domain.crypto import generate_key_file  # noqa: E402


def main(arguments: list[str]) -> int:
    if len(arguments) != 1:
        print("usage: python scripts/new_key_file.py PATH", file=sys.stderr)
        return 2
    path = Path(arguments[0])
    if path.exists():
        print(f"{path} exists: refusing to overwrite a key file", file=sys.stderr)
        return 1
    generate_key_file(path)
    print(f"Key file written to {path} (mode 0600). Keep a copy apart from the backups.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
