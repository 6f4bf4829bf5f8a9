"""English is available for every message of the UI: the catalogue has a translation for each, and
the compiled catalogue the app loads is the one in the .po (pybabel compile was run)."""
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

EN = Path(__file__).resolve().parents[2] / "app" / "translations" / "en" / "LC_MESSAGES"


def test_every_message_has_an_english_translation_and_the_compiled_catalogue_matches():
    po = read_po((EN / "messages.po").open("rb"))
    untranslated = [m.id for m in po if m.id and not m.string]
    assert not untranslated, f"{len(untranslated)} untranslated, e.g. {untranslated[:5]}"
    mo = read_mo((EN / "messages.mo").open("rb"))
    assert {m.id: m.string for m in po if m.id} == {m.id: m.string for m in mo if m.id}


def test_the_catalogue_covers_the_messages_in_the_code():
    """A message written in a template or in code but never extracted stays Vietnamese in English."""
    import subprocess
    import sys
    import tempfile

    root = EN.parents[3]
    with tempfile.TemporaryDirectory() as tmp:
        pot = Path(tmp) / "messages.pot"
        subprocess.run([sys.executable, "-c", "import sys; from babel.messages.frontend import main; sys.argv[0] = 'pybabel'; main()",
                        "extract", "-F", str(root / "babel.cfg"), "-k", "_l", "-o", str(pot), "--no-location", "."],
                       check=True, capture_output=True, cwd=root)
        wanted = {m.id for m in read_po(pot.open("rb")) if m.id}
    assert len(wanted) > 300  # the extraction found the UI's messages
    have = {m.id for m in read_po((EN / "messages.po").open("rb")) if m.id}
    missing = sorted(i if isinstance(i, str) else i[0] for i in wanted - have)
    assert not missing, f"{len(missing)} messages not in the catalogue (pybabel extract/update), e.g. {missing[:5]}"
