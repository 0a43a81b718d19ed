"""Building the SCORM 1.2 packages of the FAD course: plain functions from the catalogue and the
module sources to zip files that Moodle's mod_scorm accepts.

Every package holds one SCO: ``index.html`` (the content, with the package's configuration as a JSON
block), the shared player (``player/player.js``, ``player/player.css``), ``imsmanifest.xml`` at the
root and a ``tincan.xml`` so that the same zip can be uploaded to mod_tincanlaunch. Builds are
reproducible: entries are sorted, with fixed timestamps and permissions, so the same sources give
the same bytes.

Packages:

* ``fad-fse-valutazione-iniziale`` the initial assessment (scored, no mastery score: its grade
  drives Moodle's restrictions, its per-objective scores the adaptive path);
* ``fad-fse-mNN-<level>`` each module at each level (24), for a plain mod_scorm launch;
* ``fad-fse-mNN`` each module with its three levels (8), for an xAPI launch: the player shows the
  level of the levels State document;
* ``fad-fse-test-finale`` the final ECM test (``adlcp:masteryscore`` from the catalogue);
* ``fad-fse-questionario-qualita`` the quality questionnaire.

Beside the zips the build writes ``packages.json`` (what was built, with SHA-256) and
``moodle-restrictions.json`` / ``.csv`` (the restrict-access rules of docs/moodle.md).
"""
from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from scorm_packages.content import SOURCES, Page, SourceError, read_module, source_path
from scorm_packages.course import EXTENSIONS, IRI_ROOT, LEVEL_LABELS, LEVELS, PROFILE_IRI, CourseInfo, load_course

PLAYER_DIR = Path(__file__).resolve().parent / "player"
PLAYER_FILES = ("player/player.css", "player/player.js")
IMSCP = "http://www.imsproject.org/xsd/imscp_rootv1p1p2"
ADLCP = "http://www.adlnet.org/xsd/adlcp_rootv1p2"
TINCAN = "http://projecttincan.com/tincan.xsd"
# Zip entries carry this date: the same sources give the same bytes.
FIXED_DATE = (2024, 1, 1, 0, 0, 0)
PACKAGE_PREFIX = "fad-fse"
RESUME_STATE_ID = f"{IRI_ROOT}/state/resume"
PROGRESS_EXTENSION = "https://w3id.org/xapi/cmi5/result/extensions/progress"
CONTENT_VERSION = "1.0"
LETTERS = "abcdefghij"


class BuildError(ValueError):
    """The sources cannot give a release: names what is missing or broken."""


@dataclass
class PackageSpec:
    """One package: its name, what it is, and the page the player shows."""

    name: str
    kind: str  # module | assessment | final-test | questionnaire
    key: str  # the catalogue element key of the SCO's activity
    title: str
    body: str  # the HTML inside <main>
    config: dict
    mastery_score: int | None = None
    description: str = ""

    @property
    def filename(self) -> str:
        return f"{self.name}.zip"


@dataclass
class BuildReport:
    out: Path
    packages: list[dict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


# --- the page ----------------------------------------------------------------------------------

def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _script_json(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")).replace("</", "<\\/")


def render_index(spec: PackageSpec, course: CourseInfo) -> str:
    """The launch page of a package: readable without the player, enhanced by it."""
    return f"""<!DOCTYPE html>
<html lang="it">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(spec.title)} – {_e(course.title)}</title>
<link rel="stylesheet" href="player/player.css">
<script type="application/json" id="fse-pacchetto">{_script_json(spec.config)}</script>
</head>
<body class="tipo-{_e(spec.kind)}">
<a class="salta" href="#contenuto">Vai al contenuto</a>
<header class="testata">
<p class="corso">{_e(course.title)}</p>
</header>
<main id="contenuto" tabindex="-1">
<div class="avviso" role="alert" hidden></div>
{spec.body}
</main>
<nav class="comandi" aria-label="Navigazione tra le pagine" hidden>
<button type="button" class="indietro" data-azione="indietro">&#8592; Indietro</button>
<p class="avanzamento"><span class="numero-pagina"></span><span class="barra" aria-hidden="true"><span></span></span></p>
<button type="button" class="avanti" data-azione="avanti">Avanti &#8594;</button>
</nav>
<p class="annuncio" aria-live="polite"></p>
<footer class="piede">
<p>Regione Toscana – Programma formativo FSE 2.0 (PNRR M6C2, sub-investimento 1.3.1). Usa i pulsanti
«Avanti» e «Indietro» o i tasti freccia &#8592; &#8594; per cambiare pagina.</p>
</footer>
<script src="player/player.js"></script>
</body>
</html>
"""


def _pages_html(pages: list[Page], prefix: str) -> str:
    out = []
    for number, page in enumerate(pages, 1):
        page_id = f"{prefix}p{number}"
        out.append(f'<section class="pagina" id="{page_id}" aria-labelledby="{page_id}-titolo">\n'
                   f'<h2 id="{page_id}-titolo" tabindex="-1">{_e(page.title)}</h2>\n{page.body}\n</section>')
    return "\n".join(out)


def _toc(titles: list[str], prefix: str, label: str) -> str:
    items = "".join(f'<li><a href="#{prefix}p{n}">{_e(t)}</a></li>' for n, t in enumerate(titles, 1))
    return f'<nav class="indice" aria-label="{_e(label)}"><h2 class="titoletto">Indice</h2><ol>{items}</ol></nav>'


def _common_config(course: CourseInfo, kind: str, name: str, key: str, element_kind: str, title: str) -> dict:
    return {
        "version": CONTENT_VERSION,
        "kind": kind,
        "package": name,
        "course": {"code": course.code, "iri": course.iri, "title": course.title, "type": course.types["course"]},
        "activity": {"id": course.iri_of(key), "type": course.types[element_kind], "name": title},
        "profile": PROFILE_IRI,
        "levelsStateId": course.levels_state_id,
        "resumeStateId": RESUME_STATE_ID,
        "extensions": {name_: f"{EXTENSIONS}/{name_}" for name_ in
                       ("level", "module", "objective", "page", "objective-scores", "attempt-answers")}
                      | {"progress": PROGRESS_EXTENSION},
    }


# --- modules -----------------------------------------------------------------------------------

def module_spec(course: CourseInfo, module: dict, levels: tuple[str, ...], sources: Path = SOURCES) -> PackageSpec:
    """A module at one level (a plain mod_scorm package) or at all its levels (for an xAPI launch,
    where the player shows the level of the State document)."""
    code = module["code"]
    adaptive = len(levels) > 1
    name = f"{PACKAGE_PREFIX}-{code}" if adaptive else f"{PACKAGE_PREFIX}-{code}-{levels[0]}"
    key = code if adaptive else f"{code}/{levels[0]}"
    heading = f"Modulo {module['number']} – {module['title']}"
    title = heading if adaptive else f"{heading} (livello {levels[0]})"
    blocks, level_config = [], {}
    for level in levels:
        pages = read_module(source_path(code, level, sources), code, level)
        prefix = f"{code}-{level}-"
        level_title = module["levels"][level]["title"]
        blocks.append(
            f'<div class="livello" data-livello="{level}" id="livello-{level}">\n'
            f'<h1>{_e(heading)}</h1>\n'
            f'<p class="sottotitolo">Livello {_e(LEVEL_LABELS[level].lower())}: {_e(level_title)} · '
            f'circa {module["minutes"]} minuti</p>\n'
            f'{_toc([p.title for p in pages], prefix, "Indice del modulo")}\n'
            f'{_pages_html(pages, prefix)}\n</div>')
        level_config[level] = {"id": course.iri_of(f"{code}/{level}"), "title": level_title, "pages": len(pages)}
    config = _common_config(course, "module", name, key, "module" if adaptive else "module-level", title)
    config["module"] = {"code": code, "number": module["number"], "objective": module["objective"],
                        "iri": course.iri_of(code), "type": course.types["module"], "title": module["title"]}
    config["levels"] = level_config
    return PackageSpec(name, "module", key, title, "\n".join(blocks), config,
                       description=f"Obiettivo formativo: {course.objective(module['objective'])['title']}")


# --- quizzes -----------------------------------------------------------------------------------

def _choice_fieldset(question: dict, number: int, total: int, explanation: bool) -> str:
    qid = question["id"]
    options = "\n".join(
        f'<label><input type="radio" name="{_e(qid)}" value="{LETTERS[i]}" id="{_e(qid)}-{LETTERS[i]}"> '
        f'{_e(text)}</label>' for i, text in enumerate(question["options"]))
    extra = (f'\n<p class="spiegazione" hidden id="{_e(qid)}-spiegazione">{_e(question["explanation"])}</p>'
             if explanation else "")
    return (f'<fieldset class="domanda" id="{_e(qid)}" data-id="{_e(qid)}">\n'
            f'<legend><span class="numero">Domanda {number} di {total}.</span> {_e(question["text"])}</legend>\n'
            f'{options}\n<p class="esito" aria-live="polite"></p>{extra}\n</fieldset>')


def _likert_fieldset(item: dict, number: int, total: int) -> str:
    iid = item["id"]
    if item["type"] == "text":
        return (f'<div class="domanda testo" id="{_e(iid)}" data-id="{_e(iid)}">\n'
                f'<label for="{_e(iid)}-testo"><span class="numero">Domanda {number} di {total}.</span> '
                f'{_e(item["text"])}</label>\n'
                f'<textarea id="{_e(iid)}-testo" name="{_e(iid)}" rows="4" maxlength="255"></textarea>\n</div>')
    values = ("1", "2", "3", "4", "5") if item["type"] == "likert5" else ("si", "no")
    labels = {"si": "Sì", "no": "No"}
    options = "".join(f'<label class="scala"><input type="radio" name="{_e(iid)}" value="{v}" id="{_e(iid)}-{v}"> '
                      f'{labels.get(v, v)}</label>' for v in values)
    return (f'<fieldset class="domanda likert" id="{_e(iid)}" data-id="{_e(iid)}">\n'
            f'<legend><span class="numero">Domanda {number} di {total}.</span> {_e(item["text"])}</legend>\n'
            f'<div class="scala">{options}</div>\n</fieldset>')


def _numbered_groups(questions: list[dict], size: int, render) -> list[tuple[str, list[str]]]:
    """Questions on pages of ``size``, each page titled with the numbers it holds."""
    groups = []
    for start in range(0, len(questions), size):
        chunk = questions[start:start + size]
        groups.append((f"Domande da {start + 1} a {start + len(chunk)}",
                       [render(q, start + n) for n, q in enumerate(chunk, 1)]))
    return groups


def _quiz_body(title: str, intro: str, groups: list[tuple[str, list[str]]], submit_text: str, prefix: str) -> str:
    pages = [(heading, "\n".join(fieldsets)) for heading, fieldsets in groups]
    pages.append(("Invio delle risposte",
                  f'<p>Controlla le risposte, poi invia. Dopo l\'invio non potrai più modificarle.</p>\n'
                  f'<p class="mancanti" hidden></p>\n'
                  f'<button type="submit" class="invia">{_e(submit_text)}</button>\n'
                  f'<div class="risultato" tabindex="-1" hidden></div>'))
    toc = _toc([h for h, _ in pages], prefix, "Indice delle pagine")
    sections = "\n".join(
        f'<section class="pagina" id="{prefix}p{n}" aria-labelledby="{prefix}p{n}-titolo">\n'
        f'<h2 id="{prefix}p{n}-titolo" tabindex="-1">{_e(h)}</h2>\n{body}\n</section>'
        for n, (h, body) in enumerate(pages, 1))
    return (f'<div class="livello" id="prova">\n<h1>{_e(title)}</h1>\n<p class="sottotitolo">{intro}</p>\n{toc}\n'
            f'<form class="prova" novalidate>\n{sections}\n</form>\n</div>')


def _question_config(course: CourseInfo, element: str, question: dict, with_key: bool) -> dict:
    entry = {"id": question["id"], "iri": course.iri_of(f"{element}/{question['id']}"), "text": question["text"],
             "type": "choice", "choices": [{"id": LETTERS[i], "text": t} for i, t in enumerate(question["options"])]}
    if with_key:
        entry["key"] = LETTERS[question["correct"]]
    for name in ("objective", "module"):
        if name in question:
            entry[name] = question[name]
    return entry


def assessment_spec(course: CourseInfo) -> PackageSpec:
    data = course.data["assessment"]
    questions = data["questions"]
    total = len(questions)
    numbers = {q["id"]: n for n, q in enumerate(questions, 1)}
    groups = []
    for objective in course.data["objectives"]:
        own = [q for q in questions if q["objective"] == objective["code"]]
        groups.append((f"Obiettivo {objective['number']}: {objective['title']}",
                       [_choice_fieldset(q, numbers[q["id"]], total, explanation=True) for q in own]))
    intro = (f"{total} domande a risposta singola, circa {data['minutes']} minuti. Il risultato non è un voto: "
             "serve ad assegnarti, per ciascun obiettivo formativo, il livello dei moduli (base, intermedio, avanzato).")
    name = f"{PACKAGE_PREFIX}-{data['code']}"
    body = _quiz_body(data["title"], _e(intro), groups, "Invia le risposte", "prova-")
    config = _common_config(course, "assessment", name, data["code"], "assessment", data["title"])
    config["questions"] = [_question_config(course, data["code"], q, True) for q in questions]
    config["objectives"] = [{"code": o["code"], "title": o["title"]} for o in course.data["objectives"]]
    config["showAnswers"] = True
    return PackageSpec(name, "assessment", data["code"], data["title"], body, config)


def final_test_spec(course: CourseInfo) -> PackageSpec:
    data = course.data["final_test"]
    questions = data["questions"]
    total = len(questions)
    groups = _numbered_groups(questions, 5, lambda q, n: _choice_fieldset(q, n, total, explanation=False))
    intro = (f"{total} domande a risposta singola con quattro opzioni. Il test è superato con almeno il "
             f"{data['pass_percent']}% di risposte corrette; sono ammessi al massimo {data['max_attempts']} tentativi.")
    name = f"{PACKAGE_PREFIX}-{data['code']}"
    body = _quiz_body(data["title"], _e(intro), groups, "Invia le risposte e termina il tentativo", "prova-")
    config = _common_config(course, "final-test", name, data["code"], "final-test", data["title"])
    config["questions"] = [_question_config(course, data["code"], q, True) for q in questions]
    config["masteryScore"] = data["pass_percent"]
    config["maxAttempts"] = data["max_attempts"]
    config["showAnswers"] = False
    return PackageSpec(name, "final-test", data["code"], data["title"], body, config,
                       mastery_score=data["pass_percent"])


def questionnaire_spec(course: CourseInfo) -> PackageSpec:
    data = course.data["questionnaire"]
    items = data["items"]
    total = len(items)
    groups = _numbered_groups(items, 4, lambda item, n: _likert_fieldset(item, n, total))
    intro = ("Le tue risposte aiutano a migliorare il corso. Per ogni affermazione scegli un valore da 1 a 5; "
             "l'ultima domanda è facoltativa.")
    name = f"{PACKAGE_PREFIX}-{data['code']}"
    body = _quiz_body(data["title"], _e(intro), groups, "Invia il questionario", "prova-")
    config = _common_config(course, "questionnaire", name, data["code"], "questionnaire", data["title"])
    config["questions"] = [{"id": i["id"], "iri": course.iri_of(f"{data['code']}/{i['id']}"), "text": i["text"],
                            "type": {"likert5": "likert", "yesno": "choice", "text": "fill-in"}[i["type"]],
                            "optional": i["type"] == "text"} for i in items]
    return PackageSpec(name, "questionnaire", data["code"], data["title"], body, config)


# --- manifest and packaging --------------------------------------------------------------------

def _identifier(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)


def manifest_xml(spec: PackageSpec, course: CourseInfo, files: list[str]) -> bytes:
    """``imsmanifest.xml``: IMS CP 1.1.2 with the ADL SCORM 1.2 extensions, one item, one SCO."""
    nsmap = {None: IMSCP, "adlcp": ADLCP}
    ident = _identifier(spec.name)
    root = etree.Element(f"{{{IMSCP}}}manifest", nsmap=nsmap, identifier=f"MANIFEST-{ident}",
                         version=CONTENT_VERSION)
    metadata = etree.SubElement(root, f"{{{IMSCP}}}metadata")
    etree.SubElement(metadata, f"{{{IMSCP}}}schema").text = "ADL SCORM"
    etree.SubElement(metadata, f"{{{IMSCP}}}schemaversion").text = "1.2"
    organizations = etree.SubElement(root, f"{{{IMSCP}}}organizations", default=f"ORG-{ident}")
    organization = etree.SubElement(organizations, f"{{{IMSCP}}}organization", identifier=f"ORG-{ident}")
    etree.SubElement(organization, f"{{{IMSCP}}}title").text = course.title
    item = etree.SubElement(organization, f"{{{IMSCP}}}item", identifier=f"ITEM-{ident}",
                            identifierref=f"RES-{ident}", isvisible="true")
    etree.SubElement(item, f"{{{IMSCP}}}title").text = spec.title
    if spec.mastery_score is not None:
        etree.SubElement(item, f"{{{ADLCP}}}masteryscore").text = str(spec.mastery_score)
    resources = etree.SubElement(root, f"{{{IMSCP}}}resources")
    resource = etree.SubElement(resources, f"{{{IMSCP}}}resource", identifier=f"RES-{ident}", type="webcontent",
                                href="index.html")
    resource.set(f"{{{ADLCP}}}scormtype", "sco")
    for name in files:
        etree.SubElement(resource, f"{{{IMSCP}}}file", href=name)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def tincan_xml(spec: PackageSpec, course: CourseInfo) -> bytes:
    """``tincan.xml``, read by mod_tincanlaunch: the activity to launch and its IRI."""
    root = etree.Element(f"{{{TINCAN}}}tincan", nsmap={None: TINCAN})
    activities = etree.SubElement(root, f"{{{TINCAN}}}activities")
    activity = etree.SubElement(activities, f"{{{TINCAN}}}activity", id=spec.config["activity"]["id"],
                                type=spec.config["activity"]["type"])
    name = etree.SubElement(activity, f"{{{TINCAN}}}name", lang="it-IT")
    name.text = spec.title
    description = etree.SubElement(activity, f"{{{TINCAN}}}description", lang="it-IT")
    description.text = spec.description or course.title
    etree.SubElement(activity, f"{{{TINCAN}}}launch", lang="it-IT").text = "index.html"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def zip_bytes(files: dict[str, bytes]) -> bytes:
    """A zip of ``files`` that depends only on their names and contents."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so that the permissions below are read
            info.external_attr = 0o100644 << 16
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()


def player_files() -> dict[str, bytes]:
    return {name: (PLAYER_DIR / Path(name).name).read_bytes() for name in PLAYER_FILES}


def package_files(spec: PackageSpec, course: CourseInfo) -> dict[str, bytes]:
    files = {"index.html": render_index(spec, course).encode("utf-8"), **player_files()}
    files["tincan.xml"] = tincan_xml(spec, course)
    files["imsmanifest.xml"] = manifest_xml(spec, course, sorted(files))
    return files


def build_package(spec: PackageSpec, course: CourseInfo) -> bytes:
    return zip_bytes(package_files(spec, course))


# --- the whole course --------------------------------------------------------------------------

def package_specs(course: CourseInfo, sources: Path = SOURCES, strict: bool = False) -> tuple[list[PackageSpec], list[str]]:
    """Every package of the course, and the module sources that are missing. With ``strict`` a
    missing source is an error (a release needs them all); otherwise its packages are left out."""
    specs = [assessment_spec(course)]
    missing = []
    for module in course.modules:
        absent = [level for level in LEVELS if not source_path(module["code"], level, sources).exists()]
        missing += [str(source_path(module["code"], level, sources).relative_to(sources.parent.parent))
                    for level in absent]
        present = tuple(level for level in LEVELS if level not in absent)
        specs += [module_spec(course, module, (level,), sources) for level in present]
        if not absent:
            specs.append(module_spec(course, module, LEVELS, sources))
    if strict and missing:
        raise BuildError("missing module sources: " + ", ".join(missing))
    specs += [final_test_spec(course), questionnaire_spec(course)]
    return specs, missing


def _band(level: str, thresholds: dict[str, float]) -> tuple[float | None, float | None]:
    """The grade band (min inclusive, max exclusive, as Moodle's grade condition) of a level."""
    low = {"base": None, "intermedio": thresholds["intermedio"], "avanzato": thresholds["avanzato"]}[level]
    high = {"base": thresholds["intermedio"], "intermedio": thresholds["avanzato"], "avanzato": None}[level]
    return low, high


def _grade_condition(assessment_code: str, low: float | None, high: float | None) -> dict:
    condition = {"type": "grade", "id": f"{{grade item of {assessment_code}}}"}
    if low is not None:
        condition["min"] = low
    if high is not None:
        condition["max"] = high
    return condition


def _group(cluster: int) -> dict:
    return {"type": "group", "id": f"{{group of cluster {cluster}}}"}


def restriction_rules(course: CourseInfo, specs: list[PackageSpec]) -> list[dict]:
    """Moodle "restrict access" rules that give each module package to the learners whose initial
    assessment grade (percent) falls in its level's band. Moodle sees one grade per activity, so the
    overall grade stands for the score of the module's objective; the thresholds are those of the
    path rules for that objective: a cluster whose thresholds differ is a Moodle group with a band of
    its own, and everyone else gets the default band (docs/moodle.md). ``availability`` is the
    activity's Moodle availability tree, with placeholders for the ids of the grade item and groups."""
    code = course.data["assessment"]["code"]
    by_key = {s.key: s for s in specs}
    rules = []
    for module in course.modules:
        objective = module["objective"]
        default = course.thresholds_for(None, objective)
        own = [(n, course.thresholds_for(n, objective)) for n in sorted(course.cluster_rules)
               if course.thresholds_for(n, objective) != default]
        for level in LEVELS:
            spec = by_key.get(f"{module['code']}/{level}")
            if spec is None:
                continue
            bands, branches = [], []
            low, high = _band(level, default)
            bands.append({"cluster": None, "grade_min": low, "grade_max": high})
            others = _grade_condition(code, low, high)
            if own:
                others = {"op": "&", "c": [others, {"op": "!|", "c": [_group(n) for n, _ in own]}]}
            branches.append(others)
            for cluster, thresholds in own:
                low, high = _band(level, thresholds)
                if low is not None and high is not None and low >= high:
                    continue  # an empty band: nobody of the cluster gets this level
                bands.append({"cluster": cluster, "grade_min": low, "grade_max": high})
                branches.append({"op": "&", "c": [_group(cluster), _grade_condition(code, low, high)]})
            availability = ({"op": "&", "c": branches, "showc": [False]} if len(branches) == 1
                            else {"op": "|", "c": branches, "show": False})
            rules.append({"package": spec.filename, "module": module["code"], "level": level,
                          "objective": objective, "activity": spec.title, "after": code, "bands": bands,
                          "availability": availability})
    return rules


def _completion(filename: str) -> dict:
    return {"type": "completion", "cm": f"{{course module of {filename}}}", "e": 1}


def closing_rules(course: CourseInfo, specs: list[PackageSpec]) -> dict:
    """The final test opens when one level of every module is complete; the questionnaire when the
    final test is complete (its completion requires "passed", docs/moodle.md)."""
    by_key = {s.key: s for s in specs}
    modules = []
    for module in course.modules:
        levels = [by_key[f"{module['code']}/{level}"] for level in LEVELS if f"{module['code']}/{level}" in by_key]
        modules.append({"op": "|", "c": [_completion(s.filename) for s in levels]})
    final = by_key[course.data["final_test"]["code"]]
    questionnaire = by_key[course.data["questionnaire"]["code"]]
    return {
        "final_test": {"package": final.filename, "activity": final.title,
                       "availability": {"op": "&", "c": modules, "showc": [True] * len(modules)}},
        "questionnaire": {"package": questionnaire.filename, "activity": questionnaire.title,
                          "availability": {"op": "&", "c": [_completion(final.filename)], "showc": [True]}},
    }


def _write_restrictions(out: Path, rules: list[dict], closing: dict) -> None:
    (out / "moodle-restrictions.json").write_text(
        json.dumps({"rules": rules, **closing}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
    writer.writerow(["pacchetto", "modulo", "livello", "obiettivo", "cluster", "voto_minimo", "voto_massimo",
                     "attivita"])
    for rule in rules:
        for band in rule["bands"]:
            writer.writerow([rule["package"], rule["module"], rule["level"], rule["objective"],
                             band["cluster"] or "altri",
                             "" if band["grade_min"] is None else f"{band['grade_min']:g}",
                             "" if band["grade_max"] is None else f"{band['grade_max']:g}", rule["activity"]])
    (out / "moodle-restrictions.csv").write_text(buffer.getvalue(), encoding="utf-8")


def build(out: Path, strict: bool = False, course: CourseInfo | None = None, sources: Path = SOURCES) -> BuildReport:
    """Write every package of the course into ``out``, with the index and the restriction rules."""
    course = course or load_course()
    specs, missing = package_specs(course, sources, strict)
    out.mkdir(parents=True, exist_ok=True)
    report = BuildReport(out, missing=missing)
    for spec in specs:
        data = build_package(spec, course)
        (out / spec.filename).write_bytes(data)
        report.packages.append({"file": spec.filename, "kind": spec.kind, "element": spec.key,
                                "activity": spec.config["activity"]["id"], "title": spec.title,
                                "mastery_score": spec.mastery_score, "bytes": len(data),
                                "sha256": hashlib.sha256(data).hexdigest()})
    index = {"course": course.code, "course_iri": course.iri, "levels_state_id": course.levels_state_id,
             "packages": report.packages, "missing_sources": missing}
    (out / "packages.json").write_text(json.dumps(index, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    _write_restrictions(out, restriction_rules(course, specs), closing_rules(course, specs))
    return report


__all__ = ["BuildError", "BuildReport", "PackageSpec", "SourceError", "build", "build_package", "manifest_xml",
           "package_specs", "restriction_rules", "zip_bytes"]
