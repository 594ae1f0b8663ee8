"""Structure checks a person (and a screen reader) relies on, run on any HTML page."""

from __future__ import annotations

from collections import Counter

from bs4 import BeautifulSoup

FOOTER_LINKS = {"/aide", "/arnaques", "/accessibilite", "/plan-du-site", "/mentions-legales",
                "/code-source"}
LABELLED_INPUTS = {"text", "password", "email", "tel", "number", "date", "search", "url", "file"}


def check_page(html: str, expected_lang: str = "fr") -> list[str]:
    """Return every problem found (empty list: the page passes)."""
    soup = BeautifulSoup(html, "html.parser")
    problems: list[str] = []
    problems += _document_problems(soup, expected_lang)
    problems += _landmark_problems(soup)
    problems += _form_problems(soup)
    problems += _link_and_image_problems(soup)
    problems += _csp_and_zoom_problems(soup)
    return problems


def _document_problems(soup: BeautifulSoup, expected_lang: str) -> list[str]:
    """Language, one h1 named in the title (unless the title is generic), no skipped heading
    level, no duplicate id."""
    problems: list[str] = []
    html_tag = soup.find("html")
    if html_tag is None or html_tag.get("lang") != expected_lang:
        problems.append(f"<html lang> is not {expected_lang!r}")
    h1s = soup.find_all("h1")
    if len(h1s) != 1:
        problems.append(f"{len(h1s)} h1 elements")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    # A private page whose h1 names an item (a document, an entry, a conversation, a
    # patient) keeps a generic title, marked data-generic (ACCESSIBILITY.md, item 2): the
    # title names the kind of page, never what the h1 says.
    generic = soup.title is not None and soup.title.has_attr("data-generic")
    if not title:
        problems.append("no <title>")
    elif (h1s and not generic
          and " ".join(h1s[0].get_text(" ", strip=True).split()) not in title):
        problems.append(f"title {title!r} does not contain the h1")
    levels = [int(tag.name[1]) for tag in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6"])
              if not tag.find_parent(attrs={"hidden": True})]
    for before, after in zip(levels, levels[1:], strict=False):
        if after > before + 1:
            problems.append(f"heading level skipped: h{before} then h{after}")
    ids = Counter(tag["id"] for tag in soup.find_all(id=True))
    problems += [f"duplicate id {name!r}" for name, count in ids.items() if count > 1]
    return problems


def _landmark_problems(soup: BeautifulSoup) -> list[str]:
    """Header, nav, main and footer; the skip link first; the footer's fixed links."""
    problems: list[str] = []
    for landmark in ("header", "nav", "main", "footer"):
        if soup.find(landmark) is None and not (landmark == "nav" and soup.find("main")):
            problems.append(f"no <{landmark}>")
    if soup.find("main") is None:
        problems.append("no <main>")
    first_link = soup.find("a")
    if first_link is None or first_link.get("href") != "#contenu":
        problems.append("the first link is not the skip link to #contenu")
    names = [_landmark_name(soup, nav) for nav in soup.find_all("nav")]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        problems.append(f"navigation landmarks share a name: {repeated}")
    footer = soup.find("footer")
    footer_hrefs = {a.get("href") for a in footer.find_all("a")} if footer else set()
    missing = FOOTER_LINKS - footer_hrefs
    if missing:
        problems.append(f"footer lacks {sorted(missing)}")
    return problems


def _landmark_name(soup: BeautifulSoup, element) -> str:
    """A landmark's accessible name: aria-label, or the text aria-labelledby points to."""
    if element.get("aria-labelledby"):
        labels = [soup.find(id=ref) for ref in element["aria-labelledby"].split()]
        return " ".join(label.get_text(" ", strip=True) for label in labels if label)
    return element.get("aria-label", "")


def _form_problems(soup: BeautifulSoup) -> list[str]:
    """Forms with an action and a CSRF token; labelled fields; errors tied to their field."""
    problems: list[str] = []
    for form in soup.find_all("form"):
        if not form.get("action"):
            problems.append("a form without action")
        if form.get("method", "get").lower() == "post" and not form.find(
                "input", attrs={"name": "csrf_token"}):
            problems.append(f"POST form to {form.get('action')} without a CSRF token")
    for field in soup.find_all(["input", "select", "textarea"]):
        kind = field.get("type", "text") if field.name == "input" else field.name
        if field.name == "input" and kind not in LABELLED_INPUTS:
            continue
        field_id = field.get("id")
        if not field_id or soup.find("label", attrs={"for": field_id}) is None:
            problems.append(f"field {field.get('name')!r} has no <label for>")
        if field.get("aria-invalid") == "true":
            described = (field.get("aria-describedby") or "").split()
            if not any(soup.find(id=ref, class_="field-error") for ref in described):
                problems.append(f"invalid field {field_id!r} not tied to its error message")
    return problems


def _link_and_image_problems(soup: BeautifulSoup) -> list[str]:
    """No positive tabindex; links with a real href and a text; images with an alt."""
    problems: list[str] = []
    for tag in soup.find_all(tabindex=True):
        if int(tag["tabindex"]) > 0:
            problems.append("positive tabindex")
    for link in soup.find_all("a"):
        if link.get("href") in (None, "", "#"):
            problems.append("a link without a real href")
        if not link.get_text(strip=True) and not link.get("aria-label"):
            problems.append(f"empty link text for {link.get('href')}")
    for image in soup.find_all("img"):
        if image.get("alt") is None:
            problems.append("an image without alt")
    return problems


def _csp_and_zoom_problems(soup: BeautifulSoup) -> list[str]:
    """No inline style or script (the CSP blocks them); a viewport that lets people zoom."""
    problems: list[str] = []
    if soup.find(attrs={"style": True}) is not None or soup.find("style") is not None:
        problems.append("inline style (blocked by the CSP)")
    for script in soup.find_all("script"):
        if not script.get("src"):
            problems.append("inline script (blocked by the CSP)")
    viewport = soup.find("meta", attrs={"name": "viewport"})
    if viewport is None or "user-scalable=no" in viewport.get("content", ""):
        problems.append("viewport meta missing or blocks zoom")
    return problems
