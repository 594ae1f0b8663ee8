"""Reading typed values (domain/forms.py) with hostile and absurd input: every field kind
never raises, returns clean values within their limits, and echo() undoes read()."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from domain import measures, profile
from domain.forms import CONTROL, EARLIEST_YEAR, PHONE, RAW_LIMIT, Field, clean_text, echo, read

TODAY = date(2026, 3, 10)
SETTINGS = settings(deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# The bidirectional controls (Unicode property Bidi_Control) and the line/paragraph breaks a
# single-line value may not hold.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")
HOSTILE = (
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "\u202eevil\u202c",
    "a\x00b", "\x1b[31mred\x1b[0m", "\r\n\t", "' OR 1=1 --", "{{ 7*7 }}", "${7*7}",
    "\ufeffbom", "\u2066isolate\u2069", "\u200fRLM", "javascript:alert(1)", "\x7f\x08",
    "line1\u2028line2\u2029", "%00", "&lt;b&gt;", "\U0001f489 vaccin", "é" * 300,
)

# Every text-like field of the profile and the measures, with where it lives.
TEXT_FIELDS = [(section.key, spec) for section in profile.SECTIONS for spec in section.fields
               if spec.kind in ("text", "longtext")] + [("measures", measures.TIME)]
NUMBER_FIELDS = [(section.key, spec) for section in profile.SECTIONS
                 for spec in section.fields if spec.kind == "number"] + [
    (kind.key, spec) for kind in measures.KINDS for spec in kind.fields]
DATE_FIELDS = [(section.key, spec) for section in profile.SECTIONS for spec in section.fields
               if spec.kind in ("date", "partial_date")] + [("measures", measures.DAY)]
CODED_FIELDS = [(section, spec) for section in profile.SECTIONS for spec in section.fields
                if spec.kind == "coded"]


def _ids(pairs):
    return [f"{owner if isinstance(owner, str) else owner.key}.{spec.name}"
            for owner, spec in pairs]


hostile_text = st.lists(st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(categories=("Cc", "Cf", "Zs", "Zl", "Zp")), max_size=20),
    st.sampled_from(HOSTILE),
    st.sampled_from(sorted(BIDI_CONTROLS)),
), max_size=12).map("".join)
very_long_text = st.builds(lambda piece, count: piece * count,
                           st.one_of(st.sampled_from(HOSTILE), st.text(min_size=1, max_size=4)),
                           st.integers(min_value=1, max_value=3000))
any_text = st.one_of(hostile_text, very_long_text)


def _declared_clean(value: str, multiline: bool) -> None:
    """What clean_text promises: no control character (C0, DEL, C1) but the newline of a
    multiline value, no bidi control (override, embedding, isolate or mark), no
    surrounding space."""
    assert CONTROL.search(value) is None, repr(value)
    assert not any(unicodedata.category(char) == "Cc" and char != "\n" for char in value)
    assert not BIDI_CONTROLS.intersection(value), repr(value)
    assert value == value.strip()
    assert "\t" not in value and "\r" not in value
    if not multiline:
        assert "\n" not in value
        assert value == " ".join(value.split())


# --- text and longtext -----------------------------------------------------------------------

@pytest.mark.parametrize(("owner", "spec"), TEXT_FIELDS, ids=_ids(TEXT_FIELDS))
@SETTINGS
@given(raw=any_text)
@example(raw="x" * (RAW_LIMIT + 1000))
@example(raw="x" * 5000)
@example(raw="\u202e" * 5000)
@example(raw="\x00")
def test_text_never_raises_and_a_clean_value_stays_within_its_limit(owner, spec, raw):
    reading = read((spec,), {spec.name: raw}, TODAY)
    assert reading.typed[spec.name] == raw[:RAW_LIMIT]  # kept as typed, bounded
    multiline = spec.kind == "longtext"
    cleaned = clean_text(raw, multiline=multiline)  # measured whole, never cut first
    if reading.ok and spec.name in reading.values:
        value = reading.values[spec.name]
        _declared_clean(value, multiline)
        assert 0 < len(value) <= spec.max_length
        assert value == cleaned
        assert clean_text(value, multiline=multiline) == value  # idempotent
    elif reading.ok:
        assert cleaned == "" and not spec.required
    else:
        [problem] = reading.problems
        assert problem.field == spec.name
        if cleaned:
            assert problem.reason == "too_long"
            assert problem.params == {"maximum": spec.max_length, "length": len(cleaned)}
            assert len(cleaned) > spec.max_length
        else:
            assert problem.reason == "required" and spec.required


@SETTINGS
@given(raw=any_text, multiline=st.booleans())
def test_clean_text_removes_every_declared_control_and_bidi_character(raw, multiline):
    value = clean_text(raw, multiline=multiline)
    _declared_clean(value, multiline)
    assert clean_text(value, multiline=multiline) == value


@pytest.mark.parametrize("character", ["\x80", "\x85", "\x9b", "\x9f", "\u061c", "\u202e",
                                       "\u2067", "\x00", "\x1b", "\x7f"])
def test_every_control_and_bidi_character_is_cleaned(character):
    for multiline in (False, True):
        assert clean_text(f"a{character}b", multiline=multiline) == "a b"


@pytest.mark.parametrize(("raw", "multiline", "expected"), [
    ("  Paracétamol   1 g  ", False, "Paracétamol 1 g"),
    ("a\x00b", False, "a b"),
    ("\u202eenil\u202c", False, "enil"),
    ("ligne 1\r\nligne 2\rligne 3", False, "ligne 1 ligne 2 ligne 3"),
    ("ligne 1\r\n  ligne   2 \n\n", True, "ligne 1\nligne 2"),
    ("\t\x0b\x0c", True, ""),
    ("<script>alert(1)</script>", False, "<script>alert(1)</script>"),  # escaping is Jinja's
    ("\u2066a\u2069\u200e\u200f\x7f", False, "a"),
])
def test_clean_text_examples(raw, multiline, expected):
    assert clean_text(raw, multiline=multiline) == expected


@pytest.mark.parametrize(("section_key", "name"), [
    ("conditions", "note"), ("lifestyle", "description"), ("directives", "life_support"),
    ("emergency_contacts", "name"), ("vaccinations", "lot")])
def test_overlong_text_is_refused_not_truncated(section_key, name):
    spec = next(item for item in profile.BY_KEY[section_key].fields if item.name == name)
    exact = read((spec,), {name: "é" * spec.max_length}, TODAY)
    assert exact.ok and len(exact.values[name]) == spec.max_length
    for length in (spec.max_length + 1, 5000, RAW_LIMIT + 10):
        reading = read((spec,), {name: "é" * length}, TODAY)
        assert not reading.ok and name not in reading.values
        assert reading.problems[0].reason == "too_long"
        assert reading.problems[0].params == {"maximum": spec.max_length, "length": length}
        assert reading.typed[name] == "é" * min(length, RAW_LIMIT)


def test_a_field_of_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown field kind"):
        read((Field("x", "colour"),), {"x": "bleu"}, TODAY)


# --- numbers ---------------------------------------------------------------------------------

number_text = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda x: repr(x).replace(".", ",")),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers().map(str),
    st.text(alphabet="0123456789.,eE+-_ naNifIFsy\u202f\u00a0", max_size=30),
    st.sampled_from(["NaN", "-nan", "sNaN", "inf", "-Infinity", "1e400", "-1e400", "1e-400",
                     "1e" + "9" * 50, "9" * 5000, "0x1F", "1_0", "72,5", "72.5", "1.000,5",
                     "١٢", "½", "7²", "1e2", ".5", "5.", "", " ", "--5", "+5"]),
    hostile_text,
)


@pytest.mark.parametrize(("owner", "spec"), NUMBER_FIELDS, ids=_ids(NUMBER_FIELDS))
@SETTINGS
@given(raw=number_text)
def test_numbers_never_raise_and_stay_in_range(owner, spec, raw):
    reading = read((spec,), {spec.name: raw}, TODAY)
    if spec.name in reading.values:
        value = reading.values[spec.name]
        assert spec.minimum <= value <= spec.maximum
        if spec.decimals == 0:
            assert isinstance(value, int)
        else:
            assert isinstance(value, float) and round(value, spec.decimals) == value
    else:
        reasons = {problem.reason for problem in reading.problems}
        assert reasons <= {"number_invalid", "number_range", "number_decimals", "required"}
        if not clean_text(raw):
            assert reasons == ({"required"} if spec.required else set())


WEIGHT = measures.BY_KEY["weight"].fields[0]
TEMPERATURE = measures.BY_KEY["temperature"].fields[0]
RATE = next(spec for spec in profile.BY_KEY["disabilities"].fields if spec.name == "rate")


@pytest.mark.parametrize(("spec", "raw", "value", "reason"), [
    (WEIGHT, "72,5", 72.5, None),
    (WEIGHT, "72.5", 72.5, None),
    (WEIGHT, " 72,25 ", 72.25, None),
    (WEIGHT, "72,125", None, "number_decimals"),
    (WEIGHT, "700", None, "number_range"),
    (WEIGHT, "0,2", None, "number_range"),
    (WEIGHT, "-70", None, "number_range"),
    (WEIGHT, "1e400", None, "number_range"),
    (WEIGHT, "9" * 5000, None, "number_range"),
    (WEIGHT, "NaN", None, "number_invalid"),
    (WEIGHT, "inf", None, "number_invalid"),
    (WEIGHT, "-Infinity", None, "number_invalid"),
    (WEIGHT, "soixante", None, "number_invalid"),
    (WEIGHT, "1.000,5", None, "number_invalid"),
    (WEIGHT, "0x1F", None, "number_invalid"),
    (WEIGHT, "<script>", None, "number_invalid"),
    (WEIGHT, "", None, "required"),
    (TEMPERATURE, "20", None, "number_range"),
    (TEMPERATURE, "37,2", 37.2, None),
    (TEMPERATURE, "43", 43.0, None),
    (TEMPERATURE, "43,1", None, "number_range"),
    (RATE, "50", 50, None),
    (RATE, "1e1", 10, None),
    (RATE, "50,5", None, "number_decimals"),
    (RATE, "101", None, "number_range"),
    (RATE, "", None, None),  # optional
])
def test_number_examples(spec, raw, value, reason):
    reading = read((spec,), {spec.name: raw}, TODAY)
    assert reading.values.get(spec.name) == value
    assert [problem.reason for problem in reading.problems] == ([reason] if reason else [])
    if reason == "number_range":
        assert reading.problems[0].params == {"minimum": spec.minimum,
                                              "maximum": spec.maximum, "unit": spec.unit}


@SETTINGS
@given(number=st.decimals(min_value=0, max_value=350, places=2))
def test_comma_and_point_read_the_same(number):
    text = f"{number:f}"
    with_point = read((WEIGHT,), {"value": text}, TODAY)
    with_comma = read((WEIGHT,), {"value": text.replace(".", ",")}, TODAY)
    assert with_point.values == with_comma.values
    assert [p.reason for p in with_point.problems] == [p.reason for p in with_comma.problems]


# --- dates -----------------------------------------------------------------------------------

date_part = st.one_of(st.integers(min_value=-10, max_value=1_000_000).map(str),
                      st.text(max_size=8), st.just(""),
                      st.sampled_from(["31", "29", "02", "00", "١٢", "1e3", " 3 ", "-1"]))


@pytest.mark.parametrize(("owner", "spec"), DATE_FIELDS, ids=_ids(DATE_FIELDS))
@SETTINGS
@given(day=date_part, month=date_part, year=date_part)
def test_dates_never_raise_and_are_real_past_dates(owner, spec, day, month, year):
    form = {f"{spec.name}_day": day, f"{spec.name}_month": month, f"{spec.name}_year": year}
    reading = read((spec,), form, TODAY)
    assert reading.typed[spec.name] == {"day": day[:6], "month": month[:6], "year": year[:6]}
    if spec.name in reading.values:
        value = reading.values[spec.name]
        assert re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value)
        if spec.kind == "date":
            assert len(value) == 10
        padded = (value + "-01-01")[:10]
        assert date(EARLIEST_YEAR, 1, 1) <= date.fromisoformat(padded) <= TODAY
    else:
        for problem in reading.problems:
            assert problem.reason in {"date_invalid", "date_incomplete", "date_future",
                                      "required"}


SINCE = next(spec for spec in profile.BY_KEY["conditions"].fields if spec.name == "since")
GIVEN_ON = next(spec for spec in profile.BY_KEY["vaccinations"].fields
                if spec.name == "given_on")


@pytest.mark.parametrize(("spec", "day", "month", "year", "value", "reason"), [
    (SINCE, "", "", "2015", "2015", None),
    (SINCE, "", "3", "2015", "2015-03", None),
    (SINCE, "14", "3", "2015", "2015-03-14", None),
    (SINCE, "14", "03", "2015", "2015-03-14", None),
    (SINCE, "14", "", "2015", None, "date_incomplete"),
    (SINCE, "", "3", "", None, "date_incomplete"),
    (SINCE, "31", "2", "2015", None, "date_invalid"),
    (SINCE, "30", "2", "2024", None, "date_invalid"),
    (SINCE, "29", "2", "2024", "2024-02-29", None),
    (SINCE, "29", "2", "2023", None, "date_invalid"),
    (SINCE, "0", "3", "2015", None, "date_invalid"),
    (SINCE, "", "13", "2015", None, "date_invalid"),
    (SINCE, "", "", "1889", None, "date_invalid"),
    (SINCE, "", "", "1890", "1890", None),
    (SINCE, "", "", "15", None, "date_invalid"),
    (SINCE, "", "", "deux", None, "date_invalid"),
    (SINCE, "", "", "2027", None, "date_future"),
    (SINCE, "", "", "2026", "2026", None),       # this year
    (SINCE, "", "3", "2026", "2026-03", None),   # this month
    (SINCE, "", "4", "2026", None, "date_future"),
    (SINCE, "10", "3", "2026", "2026-03-10", None),  # today
    (SINCE, "11", "3", "2026", None, "date_future"),
    (SINCE, "", "", "", None, None),               # optional and empty
    (GIVEN_ON, "", "", "", None, "required"),
    (GIVEN_ON, "", "", "2015", None, "date_incomplete"),
    (GIVEN_ON, "", "3", "2015", None, "date_incomplete"),
    (GIVEN_ON, "1", "1", "99999", None, "date_invalid"),
    (GIVEN_ON, "1", "1", "2015", "2015-01-01", None),
])
def test_date_examples(spec, day, month, year, value, reason):
    reading = read((spec,), {f"{spec.name}_day": day, f"{spec.name}_month": month,
                             f"{spec.name}_year": year}, TODAY)
    assert reading.values.get(spec.name) == value
    assert [problem.reason for problem in reading.problems] == ([reason] if reason else [])


@pytest.mark.parametrize(("section_key", "form", "problem"), [
    ("treatments", {"since_year": "2015", "until_year": "2014"}, ("until", "since")),
    ("treatments", {"since_year": "2015", "since_month": "6", "until_year": "2015"}, None),
    ("treatments", {"since_year": "2015", "since_month": "6", "since_day": "10",
                    "until_year": "2015", "until_month": "6", "until_day": "9"},
     ("until", "since")),
    ("treatments", {"since_year": "2015", "since_month": "6", "until_year": "2015",
                    "until_month": "5", "until_day": "31"}, ("until", "since")),
    ("treatments", {"since_year": "2015", "until_year": "2015", "until_month": "1"}, None),
    ("treatments", {"since_year": "2015", "since_month": "6", "since_day": "10",
                    "until_year": "2015", "until_month": "6", "until_day": "10"}, None),
    ("treatments", {"until_year": "2010"}, None),  # an end without a start
    ("hospitalisations", {"start_year": "2020", "start_month": "5", "end_year": "2019"},
     ("end", "start")),
    ("hospitalisations", {"start_year": "2020", "end_year": "2021"}, None),
])
def test_an_end_may_not_come_before_its_start(section_key, form, problem):
    section = profile.BY_KEY[section_key]
    required = {"treatments": {"name": "Lévothyrox"},
                "hospitalisations": {"reason": "Appendicite", "start_year": "2020"}}
    reading = profile.validate(section, {**required[section_key], **form}, TODAY)
    if problem is None:
        assert reading.ok, reading.problems
    else:
        [found] = reading.problems
        assert (found.field, found.reason, found.params) == (
            problem[0], "date_order", {"other": problem[1]})


# --- phones ----------------------------------------------------------------------------------

PHONE_SPEC = Field("phone", "phone", required=True)


@pytest.mark.parametrize(("raw", "value"), [
    ("06 12 34 56 78", "0612345678"),
    ("06.12.34.56.78", "0612345678"),
    ("06-12-34-56-78", "0612345678"),
    ("(06) 12 34 56 78", "0612345678"),
    ("0612345678", "0612345678"),
    ("01 23 45 67 89", "0123456789"),
    ("+33 6 12 34 56 78", "+33612345678"),
    ("+32 470 12 34 56", "+32470123456"),
    ("+12345678", "+12345678"),
    ("+123456789012345", "+123456789012345"),
    ("\u202e06 12 34 56 78", "0612345678"),
    ("06\u00a012\u00a034\u00a056\u00a078", "0612345678"),
    ("12345", None),
    ("0012345678", None),
    ("06 12 34 56 7", None),
    ("06 12 34 56 78 90", None),
    ("+1234567", None),
    ("+1234567890123456", None),
    ("+0123456789", None),
    ("06 12 34 56 7a", None),
    ("<script>alert(1)</script>", None),
    ("0612345678; DROP TABLE users", None),
    ("tel:0612345678", None),
])
def test_phone_examples(raw, value):
    reading = read((PHONE_SPEC,), {"phone": raw}, TODAY)
    assert reading.values.get("phone") == value
    assert [problem.reason for problem in reading.problems] == (
        [] if value else ["phone_invalid"])


ASCII_PHONE = re.compile(r"(?:0[1-9][0-9]{8}|\+[1-9][0-9]{7,14})")


@SETTINGS
@given(raw=st.one_of(hostile_text, st.from_regex(r"\A(?:0[1-9]\d{8}|\+[1-9]\d{7,14})\Z"),
                     st.text(alphabet="0123456789+ .-()\u00a0", max_size=25)))
def test_phones_never_raise_and_keep_only_ascii_digits(raw):
    reading = read((PHONE_SPEC,), {"phone": raw}, TODAY)
    if reading.ok:
        assert ASCII_PHONE.fullmatch(reading.values["phone"])
        assert PHONE.fullmatch(reading.values["phone"])
    else:
        assert [problem.reason for problem in reading.problems] in (
            ["phone_invalid"], ["required"])


@pytest.mark.parametrize("raw", ["06１２３４５６７８", "06١٢٣٤٥٦٧٨", "+33 ６ 12 34 56 78",
                                 "０６ 12 34 56 78"])
def test_a_phone_in_other_digits_is_refused(raw):
    reading = read((PHONE_SPEC,), {"phone": raw}, TODAY)
    assert [problem.reason for problem in reading.problems] == ["phone_invalid"]


# --- choices, yes/no, coded lists -------------------------------------------------------------

GROUP = profile.BY_KEY["blood_group"].fields[0]
HELP = next(spec for spec in profile.BY_KEY["disabilities"].fields if spec.name == "human_help")


@pytest.mark.parametrize(("spec", "raw", "value", "reason"), [
    (GROUP, "A+", "A+", None),
    (GROUP, " O- ", "O-", None),
    (GROUP, "a+", None, "choice"),
    (GROUP, "C+", None, "choice"),
    (GROUP, "<script>", None, "choice"),
    (GROUP, "A+\u202e", "A+", None),
    (GROUP, "", None, "required"),
    (HELP, "oui", "oui", None),
    (HELP, "non", "non", None),
    (HELP, "Oui", None, "choice"),
    (HELP, "yes", None, "choice"),
    (HELP, "", None, "required"),
])
def test_choice_examples(spec, raw, value, reason):
    reading = read((spec,), {spec.name: raw}, TODAY)
    assert reading.values.get(spec.name) == value
    assert [problem.reason for problem in reading.problems] == ([reason] if reason else [])


CHOICE_FIELDS = [(section.key, spec) for section in profile.SECTIONS for spec in section.fields
                 if spec.kind in ("choice", "yesno")]


@pytest.mark.parametrize(("owner", "spec"), CHOICE_FIELDS, ids=_ids(CHOICE_FIELDS))
@SETTINGS
@given(raw=any_text)
def test_choices_never_raise_and_only_take_listed_values(owner, spec, raw):
    reading = read((spec,), {spec.name: raw}, TODAY)
    allowed = ("oui", "non") if spec.kind == "yesno" else spec.choices
    if spec.name in reading.values:
        assert reading.values[spec.name] in allowed


def _coded(section, name, key, other=""):
    spec = next(item for item in section.fields if item.name == name)
    extra = {"severity": "mild"} if section.key == "allergies" else {}
    return profile.validate(section, {name: key, f"{name}_other": other, **extra}, TODAY), spec


ALLERGIES = profile.BY_KEY["allergies"]


@pytest.mark.parametrize(("key", "other", "value", "problem"), [
    ("penicillins", "", {"key": "penicillins", "text": None,
                         "system": "http://www.whocc.no/atc", "code": "J01C"}, None),
    ("peanut", "", {"key": "peanut", "text": None, "system": None, "code": None}, None),
    ("penicillins", "ignoré", {"key": "penicillins", "text": None,
                               "system": "http://www.whocc.no/atc", "code": "J01C"}, None),
    ("other", "Pollen de bouleau", {"key": None, "text": "Pollen de bouleau"}, None),
    ("", "  Pollen \u202ede bouleau ", {"key": None, "text": "Pollen de bouleau"}, None),
    ("other", "", None, ("substance_other", "required")),
    ("other", "   \x00 ", None, ("substance_other", "required")),
    ("other", "x" * 201, None, ("substance_other", "too_long")),
    ("", "", None, ("substance", "required")),
    ("unicorn", "", None, ("substance", "choice")),
    ("<script>", "", None, ("substance", "choice")),
    ("hypertension", "", None, ("substance", "choice")),  # a key of another list
])
def test_coded_examples(key, other, value, problem):
    reading, _spec = _coded(ALLERGIES, "substance", key, other)
    assert reading.values.get("substance") == value
    assert [(p.field, p.reason) for p in reading.problems] == ([problem] if problem else [])
    assert reading.typed["substance"] == key and reading.typed["substance_other"] == other


@pytest.mark.parametrize(("section", "spec"), CODED_FIELDS, ids=_ids(CODED_FIELDS))
@SETTINGS
@given(key=st.one_of(any_text, st.sampled_from(["other", "asthma", "penicillins", ""])),
       other=any_text)
def test_coded_fields_never_raise(section, spec, key, other):
    reading = profile.validate(section, {spec.name: key, f"{spec.name}_other": other}, TODAY)
    value = reading.values.get(spec.name)
    listing = {item["key"] for item in profile.codes()[section.coded[spec.name]]}
    if value is not None:
        if value["key"] is None:
            _declared_clean(value["text"], multiline=False)
            assert 0 < len(value["text"]) <= spec.max_length
        else:
            assert value["key"] in listing and value["text"] is None


# --- echo() is the inverse of read() ---------------------------------------------------------

clean_line = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                     min_size=1, max_size=60)


def _valid_input(spec: Field, section=None):
    """A strategy of raw form inputs (name -> text) that read() accepts for this field."""
    if spec.kind in ("text", "longtext"):
        text = st.lists(clean_line, min_size=1, max_size=4).map(
            "\n".join if spec.kind == "longtext" else " ".join)
        text = text.filter(lambda raw: 0 < len(clean_text(raw, spec.kind == "longtext"))
                           <= spec.max_length)
        return text.map(lambda raw: {spec.name: raw})
    if spec.kind in ("choice", "yesno"):
        choices = ("oui", "non") if spec.kind == "yesno" else spec.choices
        return st.sampled_from(choices).map(lambda raw: {spec.name: raw})
    if spec.kind == "coded":
        keys = [item["key"] for item in profile.codes()[section.coded[spec.name]]]
        return st.one_of(
            st.sampled_from(keys).map(lambda key: {spec.name: key}),
            clean_line.filter(lambda raw: 0 < len(clean_text(raw)) <= spec.max_length).map(
                lambda raw: {spec.name: "other", f"{spec.name}_other": raw}))
    if spec.kind == "number":
        numbers = st.decimals(min_value=Decimal(str(spec.minimum)),
                              max_value=Decimal(str(spec.maximum)), places=spec.decimals)
        return st.tuples(numbers, st.booleans()).map(lambda pair: {spec.name: (
            f"{pair[0]:f}".replace(".", ",") if pair[1] else f"{pair[0]:f}")})
    if spec.kind == "phone":
        return st.from_regex(ASCII_PHONE, fullmatch=True).map(lambda raw: {spec.name: raw})
    if spec.kind in ("date", "partial_date"):
        days = st.dates(min_value=date(EARLIEST_YEAR, 1, 1), max_value=TODAY)
        precision = st.sampled_from(("day", "month", "year") if spec.kind == "partial_date"
                                    else ("day",))

        def parts(pair):
            day, kept = pair
            return {f"{spec.name}_year": str(day.year),
                    f"{spec.name}_month": "" if kept == "year" else str(day.month),
                    f"{spec.name}_day": str(day.day) if kept == "day" else ""}
        return st.tuples(days, precision).map(parts)
    raise AssertionError(spec.kind)


def _flatten(fields, typed: dict) -> dict:
    form = {}
    for spec in fields:
        if spec.kind in ("date", "partial_date"):
            for part, text in typed[spec.name].items():
                form[f"{spec.name}_{part}"] = text
        else:
            form[spec.name] = typed[spec.name]
            if spec.kind == "coded":
                form[f"{spec.name}_other"] = typed[f"{spec.name}_other"]
    return form


@st.composite
def section_form(draw, section):
    form = {}
    for spec in section.fields:
        if spec.required or draw(st.booleans()):
            form.update(draw(_valid_input(spec, section)))
    return form


@pytest.mark.parametrize("section", profile.SECTIONS, ids=[s.key for s in profile.SECTIONS])
@SETTINGS
@given(data=st.data())
def test_echo_is_the_inverse_of_read_for_every_section(section, data):
    form = data.draw(section_form(section))
    first = profile.validate(section, form, TODAY)
    assume(first.ok)  # only an end before its start is refused among valid parts
    typed = echo(section.fields, first.values)
    again = profile.validate(section, _flatten(section.fields, typed), TODAY)
    assert again.ok, again.problems
    assert again.values == first.values
    assert echo(section.fields, again.values) == typed


@pytest.mark.parametrize("kind", measures.KINDS, ids=[k.key for k in measures.KINDS])
@SETTINGS
@given(data=st.data())
def test_echo_is_the_inverse_of_read_for_every_measure(kind, data):
    fields = (*kind.fields, measures.DAY)
    form = {}
    for spec in fields:
        form.update(data.draw(_valid_input(spec)))
    form["time"] = data.draw(st.sampled_from(["", "8:30", "08:30", "23h59", "0:00"]))
    first = measures.validate(kind, form, TODAY)
    assume(first.ok)  # systolic above diastolic
    typed = echo((*fields, measures.TIME), first.values)
    again = measures.validate(kind, _flatten((*fields, measures.TIME), typed), TODAY)
    assert again.ok and again.values == first.values


def test_echo_of_nothing_is_an_empty_form():
    section = profile.BY_KEY["conditions"]
    assert echo(section.fields, {}) == {
        "condition": "", "condition_other": "",
        "since": {"year": "", "month": "", "day": ""}, "note": ""}
    assert echo((WEIGHT,), {"value": 72.5}) == {"value": "72,5"}
    assert echo((SINCE,), {"since": "2015-03"}) == {
        "since": {"year": "2015", "month": "3", "day": ""}}


# --- identities and accounts -----------------------------------------------------------------

NIR = Field("nir", "nir", required=True)
VITALE = Field("vitale", "vitale", required=True, related="nir")
BIRTH = Field("birth", "past_date", required=True)


def _reasons(reading) -> list[tuple[str, str]]:
    return [(problem.field, problem.reason) for problem in reading.problems]


@pytest.mark.parametrize(("raw", "value", "reason"), [
    ("2 88 03 75 108 021 50", "288037510802150", None),
    ("  2.88.03.75.108.021.50 ", "288037510802150", None),
    ("288037510802151", None, "nir_key"),
    ("2880375108021", None, "nir_format"),
    ("<script>", None, "nir_format"),
    ("2 88 03 75 108 021 50" + " " * 30 + "9", "288037510802150", None),  # 40 read
    ("2 88 03 75 108 021 50 9", None, "nir_format"),
    ("", None, "required"),
    ("   ", None, "required"),
])
def test_nir_examples(raw, value, reason):
    reading = read((NIR,), {"nir": raw}, TODAY)
    assert reading.values.get("nir") == value
    assert _reasons(reading) == ([("nir", reason)] if reason else [])
    assert reading.typed["nir"] == raw.strip()[:40]


@pytest.mark.parametrize(("nir", "vitale", "value", "reason"), [
    ("288037510802150", "12345678901", "12345678901", None),
    ("288037510802150", "123 456 789 01", "12345678901", None),
    ("288037510802150", "14031988", None, "vitale_is_date"),
    ("288037510802150", "2880375108021", None, "vitale_is_nir"),
    ("", "2880375108021", "2880375108021", None),  # no NIR to compare with
    ("288037510802151", "2880375108021", "2880375108021", None),  # nor a wrong one
    ("288037510802150", "1234567", None, "vitale_format"),
    ("288037510802150", "12345678901234", None, "vitale_format"),
    ("288037510802150", "", None, "required"),
])
def test_a_vitale_serial_is_read_with_the_nir(nir, vitale, value, reason):
    reading = read((NIR, VITALE), {"nir": nir, "vitale": vitale}, TODAY)
    assert reading.values.get("vitale") == value
    assert [p.reason for p in reading.problems if p.field == "vitale"] == (
        [reason] if reason else [])


CONTACTS = (Field("email", "email", required_unless="phone"), Field("phone", "french_phone"))


@pytest.mark.parametrize(("email", "phone", "values", "problems"), [
    ("Jeanne.Dupont@Exemple.fr", "", {"email": "jeanne.dupont@exemple.fr"}, []),
    ("", "06 12 34 56 78", {"phone": "+33612345678"}, []),
    ("", "+33 6 12 34 56 78", {"phone": "+33612345678"}, []),
    ("jeanne@exemple.fr", "0033612345678",
     {"email": "jeanne@exemple.fr", "phone": "+33612345678"}, []),
    ("jeanne", "", {}, [("email", "email_format")]),
    ("", "+32 470 12 34 56", {}, [("phone", "phone_format")]),
    ("jeanne", "12", {}, [("email", "email_format"), ("phone", "phone_format")]),
    ("", "", {}, [("email", "required")]),
    (" ", " ", {}, [("email", "required")]),
])
def test_an_email_or_a_phone_is_required(email, phone, values, problems):
    reading = read(CONTACTS, {"email": email, "phone": phone}, TODAY)
    assert reading.values == values
    assert _reasons(reading) == problems
    assert reading.typed == {"email": email.strip(), "phone": phone.strip()}


CREDENTIALS = (Field("login", "login", required=True),
               Field("password", "new_password", related="login"),
               Field("password_confirm", "password_confirm", related="password"))
GOOD = "Le chat dort sur le toit"


@pytest.mark.parametrize(("form", "values", "problems"), [
    ({"login": " Jeanne.Dupont ", "password": GOOD, "password_confirm": GOOD},
     {"login": "jeanne.dupont", "password": GOOD}, []),
    ({"login": "jd", "password": GOOD, "password_confirm": GOOD},
     {"password": GOOD}, [("login", "login_format")]),
    ({"login": "jeanne dupont", "password": GOOD, "password_confirm": GOOD},
     {"password": GOOD}, [("login", "login_format")]),
    ({"login": "", "password": GOOD, "password_confirm": GOOD},
     {"password": GOOD}, [("login", "required")]),
    ({"login": "jeanne.dupont", "password": GOOD, "password_confirm": GOOD + " "},
     {"login": "jeanne.dupont", "password": GOOD}, [("password_confirm", "mismatch")]),
    ({"login": "jeanne.dupont", "password": "court", "password_confirm": "autre"},
     {"login": "jeanne.dupont"}, [("password", "password_too_short")]),
    ({"login": "jeanne.dupont", "password": "", "password_confirm": ""},
     {"login": "jeanne.dupont"}, [("password", "password_too_short")]),
    ({"login": "jeanne.dupont", "password": "motdepasse123", "password_confirm": ""},
     {"login": "jeanne.dupont"}, [("password", "password_common")]),
    ({"login": "toitbleu", "password": "Le Toitbleu du chat", "password_confirm": ""},
     {"login": "toitbleu"}, [("password", "password_personal")]),
    ({"login": "jeanne.dupont", "password": "Dupont aime le chat", "password_confirm": ""},
     {"login": "jeanne.dupont"}, [("password", "password_personal")]),
])
def test_credentials_examples(form, values, problems):
    reading = read(CREDENTIALS, form, TODAY, personal=("Dupont", "Jeanne"))
    assert reading.values == values
    assert _reasons(reading) == problems
    assert reading.typed["login"] == form["login"].strip().lower()
    # a secret is never kept as typed: only whether something was typed
    assert reading.typed["password"] is bool(form["password"])
    assert reading.typed["password_confirm"] is bool(form["password_confirm"])


def test_every_broken_password_rule_is_given():
    reading = read(CREDENTIALS, {"login": "jeanne.dupont", "password": "aaa"}, TODAY)
    [problem] = reading.problems
    assert problem.reason == "password_too_short"
    assert problem.params == {"problems": ["too_short", "common"]}


PASSWORD = Field("password", "password", required=True, max_length=256)


@pytest.mark.parametrize(("raw", "value", "reason"), [
    ("  mon mot  de passe\t", "  mon mot  de passe\t", None),  # as typed: never cleaned
    ("\u202eabc", "\u202eabc", None),
    ("x" * 256, "x" * 256, None),
    ("x" * 257, None, "too_long"),
    ("", None, "required"),
    ("   ", None, "required"),
])
def test_a_password_to_check_is_read_as_typed(raw, value, reason):
    reading = read((PASSWORD,), {"password": raw}, TODAY)
    assert reading.values.get("password") == value
    assert [p.reason for p in reading.problems] == ([reason] if reason else [])
    if reason == "too_long":
        assert reading.problems[0].params == {"maximum": 256, "length": 257}
    assert reading.typed["password"] is bool(raw)


CODE = Field("code", "one_time_code", required=True)


@pytest.mark.parametrize(("raw", "value", "reason"), [
    ("123456", "123456", None),
    (" 123 456 ", "123456", None),
    ("12 34 56", "123456", None),
    ("12345", None, "code_format"),
    ("1234567", None, "code_format"),
    ("12345a", None, "code_format"),
    ("", None, "required"),
    (" ", None, "required"),
])
def test_one_time_code_examples(raw, value, reason):
    reading = read((CODE,), {"code": raw}, TODAY)
    assert reading.values.get("code") == value
    assert [p.reason for p in reading.problems] == ([reason] if reason else [])


def test_an_activation_code_is_kept_as_typed_for_the_domain_to_look_up():
    spec = Field("code", "activation_code", required=True)
    assert read((spec,), {"code": " abcd-efgh-jkmn "}, TODAY).values == {"code": "abcd-efgh-jkmn"}
    long = read((spec,), {"code": "A" * 100}, TODAY)
    assert long.values == {"code": "A" * 40} and long.typed == {"code": "A" * 40}
    assert _reasons(read((spec,), {"code": "  "}, TODAY)) == [("code", "required")]


@pytest.mark.parametrize(("day", "month", "year", "value", "reason"), [
    ("14", "3", "1988", date(1988, 3, 14), None),
    (" 14 ", "03", "1988", date(1988, 3, 14), None),
    ("10", "3", "2026", TODAY, None),
    ("11", "3", "2026", None, "date_future"),
    ("1", "1", "1889", None, "date_too_early"),
    ("1", "1", "1890", date(1890, 1, 1), None),
    ("31", "2", "1988", None, "date_invalid"),
    ("", "3", "1988", None, "date_invalid"),
    ("14", "3", "", None, "date_invalid"),
    ("quatorze", "3", "1988", None, "date_invalid"),
    ("", "", "", None, "required"),
    (" ", "", " ", None, "required"),
])
def test_past_date_examples(day, month, year, value, reason):
    reading = read((BIRTH,), {"birth_day": day, "birth_month": month, "birth_year": year},
                   TODAY)
    assert reading.values.get("birth") == value
    assert [p.reason for p in reading.problems] == ([reason] if reason else [])
    assert reading.typed["birth"] == {"day": day.strip()[:4], "month": month.strip()[:4],
                                      "year": year.strip()[:4]}


@SETTINGS
@given(day=date_part, month=date_part, year=date_part)
def test_past_dates_never_raise_and_are_real_past_dates(day, month, year):
    reading = read((BIRTH,), {"birth_day": day, "birth_month": month, "birth_year": year},
                   TODAY)
    if reading.ok:
        assert date(EARLIEST_YEAR, 1, 1) <= reading.values["birth"] <= TODAY
        assert echo((BIRTH,), reading.values)["birth"] == {
            "year": str(reading.values["birth"].year),
            "month": str(reading.values["birth"].month),
            "day": str(reading.values["birth"].day)}
    else:
        assert {p.reason for p in reading.problems} <= {
            "required", "date_invalid", "date_future", "date_too_early"}


@pytest.mark.parametrize(("raw", "required", "value", "reason"), [
    ("oui", False, True, None),
    ("", False, False, None),
    ("non", False, False, None),
    ("Oui", False, False, None),
    ("oui", True, True, None),
    ("", True, None, "required"),
    ("on", True, None, "required"),
])
def test_yes_examples(raw, required, value, reason):
    reading = read((Field("accept", "yes", required=required),), {"accept": raw}, TODAY)
    assert reading.values.get("accept") == value
    assert [p.reason for p in reading.problems] == ([reason] if reason else [])
    assert reading.typed["accept"] is (raw == "oui")


def test_a_file_field_reads_the_chosen_file_name():
    spec = Field("file", "file", required=True)
    assert read((spec,), {"file": "directives.pdf"}, TODAY).values == {"file": "directives.pdf"}
    missing = read((spec,), {}, TODAY)
    assert _reasons(missing) == [("file", "required")] and missing.typed == {"file": ""}


ACCOUNT_FIELDS = (NIR, VITALE, BIRTH, *CONTACTS, *CREDENTIALS, PASSWORD, CODE,
                  Field("code2", "activation_code"), Field("accept", "yes"),
                  Field("file", "file"))


@SETTINGS
@given(data=st.data())
def test_account_kinds_never_raise_on_hostile_input(data):
    form = {name: data.draw(any_text) for spec in ACCOUNT_FIELDS for name in spec.inputs()}
    reading = read(ACCOUNT_FIELDS, form, TODAY, personal=("Dupont",))
    for name in ("nir", "vitale", "email", "phone", "login", "code"):
        if name in reading.values:
            assert reading.values[name].isascii() or name == "email"
    for problem in reading.problems:
        assert problem.field in {spec.name for spec in ACCOUNT_FIELDS}


def test_echo_of_account_fields_shows_no_secret():
    values = {"nir": "288037510802150", "birth": date(1988, 3, 14), "password": GOOD,
              "accept": True}
    typed = echo((NIR, BIRTH, PASSWORD, Field("accept", "yes")), values)
    assert typed == {"nir": "288037510802150",
                     "birth": {"year": "1988", "month": "3", "day": "14"},
                     "password": False, "accept": True}
