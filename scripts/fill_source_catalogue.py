"""Fill the French catalogue with its own source strings.

French is the source language of the UI: its catalogue maps each message to itself, so the
"no untranslated entry" test covers it too and a reviewer can adjust wording in one place.
"""

from pathlib import Path

from babel.messages.pofile import read_po, write_po

path = Path(__file__).parent.parent / "translations/fr/LC_MESSAGES/messages.po"
with path.open("rb") as handle:
    catalog = read_po(handle, locale="fr")
for message in catalog:
    if not message.id:
        continue
    if isinstance(message.id, tuple):
        if not all(message.string):
            message.string = (message.id[0], message.id[1])
    elif not message.string:
        message.string = message.id
    message.flags.discard("fuzzy")
with path.open("wb") as handle:
    write_po(handle, catalog, omit_header=False, sort_output=True, width=100,
             ignore_obsolete=True, include_previous=False, no_location=True)
