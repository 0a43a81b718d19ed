"""The module sources (``sources/modules/mNN/<level>.html``): read, checked and turned into the
pages the player shows.

A source is an HTML fragment of ``<section>`` elements, each opened by an ``<h2>``, with examples in
``<aside class="esempio">`` and self-checks in ``<form class="autoverifica" data-correct="b">``
(sources/README.md). Anything that could run code or load something from elsewhere (scripts, styles,
images, frames, event attributes, ``javascript:`` links) is refused, naming the file and the line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree, html

SOURCES = Path(__file__).resolve().parent / "sources" / "modules"
ALLOWED_TAGS = {
    "section", "h2", "h3", "h4", "p", "ul", "ol", "li", "dl", "dt", "dd", "strong", "em", "b", "i", "abbr",
    "aside", "blockquote", "cite", "q", "code", "br", "span", "table", "caption", "thead", "tbody", "tr", "th",
    "td", "a", "form", "fieldset", "legend", "label", "input", "small", "sup", "sub", "dfn", "time",
}
ALLOWED_ATTRIBUTES = {"class", "title", "href", "type", "name", "value", "data-correct", "scope", "colspan",
                      "rowspan", "lang", "datetime", "id"}


class SourceError(ValueError):
    """A module source that cannot be built: names the file, the line and the rule."""

    def __init__(self, path: Path | str, line: int | None, message: str):
        self.path, self.line, self.message = str(path), line, message
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class SelfCheck:
    name: str
    question: str
    options: tuple[tuple[str, str], ...]
    correct: str


@dataclass(frozen=True)
class Page:
    title: str
    body: str  # the section's content after its <h2>, as XHTML-safe HTML
    self_checks: tuple[SelfCheck, ...]


def source_path(module: str, level: str, root: Path = SOURCES) -> Path:
    return root / module / f"{level}.html"


def _text(element) -> str:
    return re.sub(r"\s+", " ", element.text_content()).strip()


def _check_element(path: Path, element) -> None:
    tag = element.tag if isinstance(element.tag, str) else None
    if tag is None:  # comments, processing instructions
        return
    if tag not in ALLOWED_TAGS:
        raise SourceError(path, element.sourceline, f"<{tag}> is not allowed in a module source")
    for name, value in element.attrib.items():
        if name not in ALLOWED_ATTRIBUTES:
            raise SourceError(path, element.sourceline, f"attribute {name!r} is not allowed on <{tag}>")
        if name == "href" and re.match(r"\s*(javascript|data|vbscript):", value, re.I):
            raise SourceError(path, element.sourceline, f"a link to {value.split(':')[0]}: is not allowed")
    if tag == "input" and element.get("type") != "radio":
        raise SourceError(path, element.sourceline, "only radio inputs, inside a self-check")


def _self_check(path: Path, form, names: set[str]) -> SelfCheck:
    line = form.sourceline
    correct = form.get("data-correct", "")
    legends = form.xpath(".//legend")
    if len(legends) != 1:
        raise SourceError(path, line, "a self-check needs one <fieldset> with one <legend>")
    radios = form.xpath(".//input[@type='radio']")
    if len(radios) < 2:
        raise SourceError(path, line, "a self-check needs at least two radio options")
    groups = {r.get("name") for r in radios}
    if len(groups) != 1 or None in groups:
        raise SourceError(path, line, "the options of a self-check share one radio name")
    name = groups.pop()
    if name in names:
        raise SourceError(path, line, f"radio name {name!r} used by two self-checks")
    values = [r.get("value", "") for r in radios]
    if len(set(values)) != len(values) or not all(re.fullmatch(r"[a-z0-9]", v) for v in values):
        raise SourceError(path, line, "option values are distinct single letters or digits")
    if correct not in values:
        raise SourceError(path, line, f"data-correct={correct!r} is not the value of one of the options")
    if len(form.find_class("spiegazione")) != 1:
        raise SourceError(path, line, "a self-check needs one <p class=\"spiegazione\">")
    options = []
    for radio in radios:
        label = radio.getparent()
        if label is None or label.tag != "label":
            raise SourceError(path, radio.sourceline, "each radio sits inside its <label>")
        options.append((radio.get("value"), _text(label)))
    return SelfCheck(name, _text(legends[0]), tuple(options), correct)


def _prepare_self_check(form, check: SelfCheck, page_id: str) -> None:
    """Give the form what the player needs: ids, a check button, a live feedback line; the
    explanation stays hidden until the learner answers."""
    form_id = f"{page_id}-{check.name}"
    form.set("id", form_id)
    form.set("data-name", check.name)
    for radio in form.xpath(".//input[@type='radio']"):
        radio.set("id", f"{form_id}-{radio.get('value')}")
    explanation = form.find_class("spiegazione")[0]
    explanation.set("hidden", "hidden")
    explanation.set("id", f"{form_id}-spiegazione")
    fieldset = form.find(".//fieldset")
    button = etree.Element("button", type="submit", **{"class": "verifica"})
    button.text = "Verifica la risposta"
    feedback = etree.Element("p", **{"class": "esito", "role": "status", "aria-live": "polite"})
    fieldset.addnext(button)
    button.addnext(feedback)


def read_module(path: Path, module_code: str | None = None, level: str | None = None) -> list[Page]:
    """The pages of one module source. Raises SourceError naming the file and line of a problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SourceError(path, None, "missing module source") from None
    except UnicodeDecodeError:
        raise SourceError(path, None, "not UTF-8 text") from None
    if re.search(r"<\s*(html|head|body)\b", text, re.I):
        raise SourceError(path, None, "a source is a fragment: no <html>, <head> or <body>")
    try:
        nodes = html.fragments_fromstring(text)
    except etree.ParserError as exc:
        raise SourceError(path, None, f"not parseable HTML: {exc}") from None
    pages: list[Page] = []
    names: set[str] = set()
    prefix = f"{module_code}-{level}-" if module_code and level else ""
    for node in nodes:
        if isinstance(node, str):
            if node.strip():
                raise SourceError(path, None, "text outside a <section>")
            continue
        if not isinstance(node.tag, str):
            continue
        if node.tag != "section":
            raise SourceError(path, node.sourceline, f"<{node.tag}> outside a <section>")
        for element in node.iter():
            _check_element(path, element)
        children = [c for c in node if isinstance(c.tag, str)]
        if not children or children[0].tag != "h2":
            raise SourceError(path, node.sourceline, "a <section> starts with its <h2>")
        heading = children[0]
        title = _text(heading)
        if not title:
            raise SourceError(path, heading.sourceline, "an empty <h2>")
        page_id = f"{prefix}p{len(pages) + 1}"
        checks = []
        for form in node.find_class("autoverifica"):
            if form.tag != "form":
                raise SourceError(path, form.sourceline, "class autoverifica belongs on a <form>")
            check = _self_check(path, form, names)
            names.add(check.name)
            _prepare_self_check(form, check, page_id)
            checks.append(check)
        for form in node.iter("form"):
            if "autoverifica" not in (form.get("class") or "").split():
                raise SourceError(path, form.sourceline, "a <form> is a self-check (class autoverifica)")
        body = ((heading.tail or "") + "".join(html.tostring(c, encoding="unicode")
                                                for c in node if c is not heading)).strip()
        pages.append(Page(title, body, tuple(checks)))
    if not pages:
        raise SourceError(path, None, "no <section> in the source")
    return pages


def word_count(pages: list[Page]) -> int:
    return sum(len(html.fromstring(f"<div>{p.body}</div>").text_content().split()) for p in pages)
