"""The SCORM 1.2 packages of the FAD course: every manifest against the SCORM 1.2 content-packaging
rules (read with lxml), the launch pages, reproducible builds, the restriction rules for Moodle,
and the builder's refusals of broken or missing sources."""
from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree, html

from fse_fad.cli import main
from scorm_packages.builder import BuildError, build
from scorm_packages.content import SOURCES, SourceError, read_module, word_count
from scorm_packages.course import LEVELS, load_course
from scorm_packages.manifest import ADLCP_12, IMSCP_12, check_scorm12

NS = {"cp": IMSCP_12, "adlcp": ADLCP_12}
COURSE = load_course()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scorm")
    build(out)
    return out


def _zips(out: Path) -> list[Path]:
    return sorted(out.glob("*.zip"))


def _manifest(path: Path) -> tuple[etree._Element, set[str], bytes]:
    with zipfile.ZipFile(path) as archive:
        data = archive.read("imsmanifest.xml")
        names = set(archive.namelist())
    return etree.fromstring(data), names, data


def test_the_build_has_every_package_of_the_course(built):
    names = {p.name for p in _zips(built)}
    expected = {"fad-fse-valutazione-iniziale.zip", "fad-fse-test-finale.zip", "fad-fse-questionario-qualita.zip"}
    for module in COURSE.modules:
        expected.add(f"fad-fse-{module['code']}.zip")
        expected |= {f"fad-fse-{module['code']}-{level}.zip" for level in LEVELS}
    assert names == expected
    assert len([n for n in names if n.count("-") == 3 and n.split("-")[3].removesuffix(".zip") in LEVELS]) == 24
    index = json.loads((built / "packages.json").read_text(encoding="utf-8"))
    assert {p["file"] for p in index["packages"]} == names
    assert index["course_iri"] == COURSE.iri


PACKAGE_NAMES = (["valutazione-iniziale", "test-finale", "questionario-qualita"]
                 + [m["code"] for m in COURSE.modules]
                 + [f"{m['code']}-{level}" for m in COURSE.modules for level in LEVELS])


@pytest.mark.parametrize("name", PACKAGE_NAMES)
def test_manifest_follows_the_scorm12_packaging_rules(built, name):
    root, names, data = _manifest(built / f"fad-fse-{name}.zip")
    # IMS CP 1.1.2 root with the ADL SCORM 1.2 extension namespace on the adlcp prefix
    assert root.tag == f"{{{IMSCP_12}}}manifest"
    assert root.nsmap["adlcp"] == ADLCP_12
    assert root.xpath("string(cp:metadata/cp:schema)", namespaces=NS) == "ADL SCORM"
    assert root.xpath("string(cp:metadata/cp:schemaversion)", namespaces=NS) == "1.2"
    # one organization, the default, with exactly one item pointing at one SCO resource
    organizations = root.xpath("cp:organizations/cp:organization", namespaces=NS)
    assert len(organizations) == 1
    assert root.xpath("string(cp:organizations/@default)", namespaces=NS) == organizations[0].get("identifier")
    items = root.xpath("//cp:item", namespaces=NS)
    assert len(items) == 1 and items[0].xpath("string(cp:title)", namespaces=NS).strip()
    resources = root.xpath("cp:resources/cp:resource", namespaces=NS)
    assert len(resources) == 1
    sco = resources[0]
    assert items[0].get("identifierref") == sco.get("identifier")
    assert sco.get(f"{{{ADLCP_12}}}scormtype") == "sco"
    assert sco.get("type") == "webcontent" and sco.get("href") == "index.html"
    # every file of the package is listed, every listed file is in the package, the manifest at the root
    listed = set(sco.xpath("cp:file/@href", namespaces=NS))
    assert listed == names - {"imsmanifest.xml"}
    assert "imsmanifest.xml" in names
    identifiers = root.xpath("//@identifier")
    assert len(identifiers) == len(set(identifiers))
    assert check_scorm12(data, names) == []


def test_mastery_score_only_on_the_final_test(built):
    for path in _zips(built):
        root, _, _ = _manifest(path)
        scores = root.xpath("//cp:item/adlcp:masteryscore/text()", namespaces=NS)
        if path.name == "fad-fse-test-finale.zip":
            assert scores == [str(COURSE.data["final_test"]["pass_percent"])] == ["75"]
        else:
            assert scores == []


def test_every_manifest_meets_the_rules(built):
    for path in _zips(built):
        _, names, data = _manifest(path)
        assert check_scorm12(data, names) == [], path.name


def test_the_rules_checker_finds_broken_manifests():
    good = (b'<manifest xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2" '
            b'xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2" identifier="M">'
            b"<metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>"
            b'<organizations default="O"><organization identifier="O"><title>T</title>'
            b'<item identifier="I" identifierref="R"><title>T</title><adlcp:masteryscore>80</adlcp:masteryscore></item>'
            b'</organization></organizations><resources><resource identifier="R" type="webcontent" '
            b'adlcp:scormtype="sco" href="a.html"><file href="a.html"/></resource></resources></manifest>')
    assert check_scorm12(good, {"a.html", "imsmanifest.xml"}) == []
    assert any("not in the package" in p for p in check_scorm12(good, {"imsmanifest.xml"}))
    broken = {
        b'identifierref="R"': (b'identifierref="X"', "names no resource"),
        b"<schemaversion>1.2": (b"<schemaversion>1.3", "schemaversion"),
        b'default="O"': (b'default="Z"', "names no organization"),
        b">80<": (b">180<", "masteryscore"),
        b'adlcp:scormtype="sco"': (b'adlcp:scormtype="lesson"', "scormtype"),
        b'href="a.html"><file': (b'href="../a.html"><file', "leaves the package"),
        b'identifier="I"': (b'identifier="1 I"', "NCName"),
    }
    for old, (new, message) in broken.items():
        problems = check_scorm12(good.replace(old, new), {"a.html"})
        assert any(message in p for p in problems), (new, problems)
    assert check_scorm12(b"<manifest", None)


def test_launch_pages_are_accessible_italian_html(built):
    for path in _zips(built):
        with zipfile.ZipFile(path) as archive:
            page = html.document_fromstring(archive.read("index.html"))
            assert {"player/player.js", "player/player.css", "tincan.xml"} <= set(archive.namelist())
        assert page.get("lang") == "it"
        assert page.xpath("//meta[@name='viewport']")
        assert len(page.xpath("//main")) == 1 and page.xpath("//header") and page.xpath("//footer")
        assert page.xpath("//nav[@aria-label]")
        assert page.xpath("//a[@class='salta'][@href='#contenuto']")
        assert not page.xpath("//img[not(@alt)]")
        for level in page.xpath("//div[contains(@class,'livello')]"):
            assert len(level.xpath(".//h1")) == 1
            for section in level.xpath(".//section[@class='pagina']"):
                heading = section.xpath("./h2")[0]
                assert section.get("aria-labelledby") == heading.get("id")
        # every form control has a label or sits in one
        for control in page.xpath("//input[@type='radio'] | //textarea"):
            assert control.xpath("ancestor::label") or page.xpath(f"//label[@for='{control.get('id')}']")
        config = json.loads(page.xpath("//script[@id='fse-pacchetto']")[0].text)
        assert config["activity"]["id"].startswith(COURSE.iri + "/")
        assert config["levelsStateId"] == COURSE.levels_state_id


def test_packages_carry_catalogue_iris_and_no_secret(built):
    for path in _zips(built):
        with zipfile.ZipFile(path) as archive:
            tincan = etree.fromstring(archive.read("tincan.xml"))
            page = archive.read("index.html").decode()
            script = archive.read("player/player.js").decode()
        activity = tincan.xpath("//*[local-name()='activity']")[0]
        assert activity.get("id").startswith(COURSE.iri + "/")
        for text in (page, script):
            assert "Basic " not in text.replace('"Basic "', "")
            assert "secret" not in text.lower()
    module = json.loads(html.document_fromstring(
        zipfile.ZipFile(built / "fad-fse-m03.zip").read("index.html")).xpath("//script[@id='fse-pacchetto']")[0].text)
    assert module["activity"]["id"] == COURSE.iri_of("m03")
    assert set(module["levels"]) == set(LEVELS)
    assert module["levels"]["intermedio"]["id"] == COURSE.iri_of("m03/intermedio")


def test_builds_are_reproducible(built, tmp_path):
    build(tmp_path)
    for path in _zips(built):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name
    with zipfile.ZipFile(built / "fad-fse-m01-base.zip") as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(2024, 1, 1, 0, 0, 0)}


def _admits(tree: dict, grade: float, groups: set[str]) -> bool:
    """Moodle's availability tree semantics: & | !& !|, grade (min inclusive, max exclusive), group."""
    if "op" in tree:
        values = [_admits(c, grade, groups) for c in tree["c"]]
        return {"&": all(values), "|": any(values), "!&": not all(values), "!|": not any(values)}[tree["op"]]
    if tree["type"] == "grade":
        return ("min" not in tree or grade >= tree["min"]) and ("max" not in tree or grade < tree["max"])
    if tree["type"] == "group":
        return tree["id"] in groups
    raise AssertionError(tree)


def test_restriction_rules_give_each_learner_one_level_per_module(built):
    rules = json.loads((built / "moodle-restrictions.json").read_text(encoding="utf-8"))["rules"]
    assert {r["package"] for r in rules} == {f"fad-fse-{m['code']}-{lv}.zip" for m in COURSE.modules for lv in LEVELS}
    for rule in rules:
        assert rule["availability"].get("showc") == [False] or rule["availability"].get("show") is False
    for module in COURSE.modules:
        own = [r for r in rules if r["module"] == module["code"]]
        for cluster in [None, 1, 2, 3]:
            groups = {f"{{group of cluster {cluster}}}"} if cluster else set()
            thresholds = COURSE.thresholds_for(cluster, module["objective"])
            for grade in range(0, 101):
                admitted = [r["level"] for r in own if _admits(r["availability"], grade, groups)]
                expected = ("avanzato" if grade >= thresholds["avanzato"] else
                            "intermedio" if grade >= thresholds["intermedio"] else "base")
                assert admitted == [expected], (module["code"], cluster, grade, admitted)
    restrictions = json.loads((built / "moodle-restrictions.json").read_text(encoding="utf-8"))
    final = restrictions["final_test"]["availability"]
    assert final["op"] == "&" and len(final["c"]) == len(COURSE.modules)
    for module, branch in zip(COURSE.modules, final["c"]):
        assert [c["cm"] for c in branch["c"]] == [f"{{course module of fad-fse-{module['code']}-{lv}.zip}}"
                                                  for lv in LEVELS]
    assert restrictions["questionnaire"]["availability"]["c"] == [
        {"type": "completion", "cm": "{course module of fad-fse-test-finale.zip}", "e": 1}]
    csv_lines = (built / "moodle-restrictions.csv").read_text(encoding="utf-8").splitlines()
    assert csv_lines[0].startswith("pacchetto;modulo;livello")
    assert len(csv_lines) - 1 == sum(len(r["bands"]) for r in rules)


def _copy_sources(tmp_path: Path) -> Path:
    root = tmp_path / "sources" / "modules"
    shutil.copytree(SOURCES, root)
    return root


def test_a_missing_source_is_left_out_unless_strict(tmp_path):
    sources = _copy_sources(tmp_path)
    (sources / "m02" / "avanzato.html").unlink()
    report = build(tmp_path / "out", sources=sources)
    built = {p["file"] for p in report.packages}
    assert report.missing == ["sources/modules/m02/avanzato.html"]
    assert "fad-fse-m02-avanzato.zip" not in built and "fad-fse-m02.zip" not in built
    assert "fad-fse-m02-base.zip" in built
    with pytest.raises(BuildError, match="m02/avanzato.html"):
        build(tmp_path / "strict", strict=True, sources=sources)


@pytest.mark.parametrize("fragment, message", [
    ("<section><h2>T</h2><script>alert(1)</script></section>", "<script> is not allowed"),
    ("<section><h2>T</h2><p onclick='x()'>a</p></section>", "attribute 'onclick'"),
    ("<section><h2>T</h2><p style='color:red'>a</p></section>", "attribute 'style'"),
    ("<section><h2>T</h2><a href='javascript:x()'>a</a></section>", "javascript"),
    ("<section><p>no heading</p></section>", "starts with its <h2>"),
    ("<p>outside</p>", "outside a <section>"),
    ("<section><h2>T</h2><form class='autoverifica' data-correct='z'><fieldset><legend>Q</legend>"
     "<label><input type='radio' name='q1' value='a'> A</label><label><input type='radio' name='q1' value='b'> B</label>"
     "</fieldset><p class='spiegazione'>E</p></form></section>", "data-correct='z'"),
    ("<html><body><section><h2>T</h2></section></body></html>", "fragment"),
])
def test_broken_sources_are_refused_with_file_and_reason(tmp_path, fragment, message):
    path = tmp_path / "base.html"
    path.write_text("\n" + fragment, encoding="utf-8")
    with pytest.raises(SourceError) as caught:
        read_module(path)
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_every_source_reads(tmp_path):
    for module in COURSE.modules:
        for level in LEVELS:
            path = SOURCES / module["code"] / f"{level}.html"
            if path.exists():
                pages = read_module(path, module["code"], level)
                assert 5 <= len(pages) <= 8
                assert 1000 <= word_count(pages) <= 2000, path  # about 30 minutes of reading
                assert [p.title for p in pages[:len(module["levels"][level]["outline"])]] == \
                    module["levels"][level]["outline"]


def test_cli_builds_and_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["scorm", "build", "--out", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert len(report["packages"]) == len(list((tmp_path / "out").glob("*.zip")))
    result = runner.invoke(main, ["scorm", "build"])
    assert result.exit_code != 0 and "--out" in result.output
