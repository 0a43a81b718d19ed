"""Importing SCORM packages: the course's own, SCORM 2004 and multi-SCO packages, and the refusal
of broken or hostile ones (not a zip, damaged, no manifest, path traversal, symbolic links,
oversized packages, zip bombs, malformed or entity-laden manifests) with a clear reason."""
from __future__ import annotations

import io
import random
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from fse_fad.cli import main
from scorm_packages.builder import build
from scorm_packages.course import load_course
from scorm_packages.importing import Limits, PackageRefused, open_package, register

COURSE = load_course()
MANIFEST_12 = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="CORSO-X" version="1" xmlns="http://www.imsproject.org/xsd/imscp_rootv1p1p2"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_rootv1p2">
  <metadata><schema>ADL SCORM</schema><schemaversion>1.2</schemaversion></metadata>
  <organizations default="ORG">
    <organization identifier="ORG"><title>Corso X</title>
      <item identifier="CAP1"><title>Capitolo 1</title>
        <item identifier="L1" identifierref="R1" parameters="?pagina=1"><title>Lezione 1</title>
          <adlcp:masteryscore>80</adlcp:masteryscore></item>
        <item identifier="L2" identifierref="R2"><title>Lezione 2</title></item>
      </item>
      <item identifier="DOC" identifierref="R3"><title>Dispensa</title></item>
    </organization>
  </organizations>
  <resources>
    <resource identifier="R1" type="webcontent" adlcp:scormtype="sco" href="l1/index.html"><file href="l1/index.html"/></resource>
    <resource identifier="R2" type="webcontent" adlcp:scormtype="sco" href="l2.html"><file href="l2.html"/></resource>
    <resource identifier="R3" type="webcontent" adlcp:scormtype="asset" href="dispensa.pdf"><file href="dispensa.pdf"/></resource>
  </resources>
</manifest>"""
MANIFEST_2004 = """<?xml version="1.0" encoding="UTF-8"?>
<manifest identifier="com.example.corso2004" version="1" xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"
  xmlns:adlcp="http://www.adlnet.org/xsd/adlcp_v1p3" xmlns:imsss="http://www.imsglobal.org/xsd/imsss">
  <metadata><schema>ADL SCORM</schema><schemaversion>2004 4th Edition</schemaversion></metadata>
  <organizations default="O1">
    <organization identifier="O1"><title>Corso 2004</title>
      <item identifier="T1" identifierref="RES1"><title>Test</title>
        <imsss:sequencing><imsss:objectives>
          <imsss:primaryObjective objectiveID="p" satisfiedByMeasure="true">
            <imsss:minNormalizedMeasure>0.8</imsss:minNormalizedMeasure></imsss:primaryObjective>
        </imsss:objectives></imsss:sequencing>
      </item>
    </organization>
  </organizations>
  <resources xml:base="contenuti/">
    <resource identifier="RES1" type="webcontent" adlcp:scormType="sco" href="test.html"><file href="test.html"/></resource>
  </resources>
</manifest>"""


def _zip(path: Path, entries: dict[str, bytes | str], mode: dict[str, int] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode and name in mode:
                info.create_system = 3
                info.external_attr = mode[name] << 16
            archive.writestr(info, data)
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scorm")
    build(out)
    return out


def test_every_built_package_imports(built):
    for path in sorted(built.glob("*.zip")):
        package = open_package(path)
        assert package.manifest.version == "1.2"
        assert len(package.manifest.scos) == 1 and package.warnings == []
        sco = package.manifest.scos[0]
        assert sco.href == "index.html"
        [element] = package.elements("https://fad.example.org/scorm")
        assert element["iri"].startswith(COURSE.iri + "/")
        assert element["mastery_score"] == (75 if path.name == "fad-fse-test-finale.zip" else None)
    final = open_package(built / "fad-fse-test-finale.zip")
    assert final.manifest.mastery_score == 75
    assert final.elements("x")[0]["iri"] == COURSE.iri_of("test-finale")


def test_register_is_idempotent(built, tmp_path):
    registry = tmp_path / "registry.json"
    for _ in range(2):
        for name in ("fad-fse-m01-base.zip", "fad-fse-test-finale.zip"):
            register(open_package(built / name), registry, "https://fad.example.org/scorm")
    elements = json.loads(registry.read_text(encoding="utf-8"))["elements"]
    assert [e["iri"] for e in elements] == sorted([COURSE.iri_of("m01/base"), COURSE.iri_of("test-finale")])


def test_scorm12_multi_sco_package(tmp_path):
    path = _zip(tmp_path / "corso.zip", {"imsmanifest.xml": MANIFEST_12, "l1/index.html": "<p>1</p>",
                                         "l2.html": "<p>2</p>", "dispensa.pdf": b"%PDF"})
    package = open_package(path)
    manifest = package.manifest
    assert (manifest.version, manifest.title, manifest.default_organization) == ("1.2", "Corso X", "ORG")
    assert [i.identifier for i in manifest.organizations[0].walk()] == ["CAP1", "L1", "L2", "DOC"]
    assert [(s.item, s.href, s.mastery_score) for s in manifest.scos] == [
        ("L1", "l1/index.html?pagina=1", 80.0), ("L2", "l2.html", None)]
    assert [e["iri"] for e in package.elements("https://fad.example.org/scorm/")] == [
        "https://fad.example.org/scorm/CORSO-X/L1", "https://fad.example.org/scorm/CORSO-X/L2"]


def test_scorm2004_package(tmp_path):
    path = _zip(tmp_path / "c2004.zip", {"imsmanifest.xml": MANIFEST_2004, "contenuti/test.html": "<p>t</p>"})
    manifest = open_package(path).manifest
    assert (manifest.version, manifest.schema_version) == ("2004", "2004 4th Edition")
    assert [(s.item, s.href, s.mastery_score) for s in manifest.scos] == [("T1", "contenuti/test.html", 80.0)]


def _refused(path: Path, limits: Limits = Limits()) -> str:
    with pytest.raises(PackageRefused) as caught:
        open_package(path, limits)
    return caught.value.reason


def test_broken_packages_are_refused_with_their_reason(tmp_path):
    good = {"imsmanifest.xml": MANIFEST_12, "l1/index.html": "1", "l2.html": "2", "dispensa.pdf": b"%PDF"}

    not_zip = tmp_path / "testo.zip"
    not_zip.write_text("not a zip")
    assert "not a zip file" in _refused(not_zip)

    damaged = tmp_path / "rotto.zip"
    damaged.write_bytes(_zip(tmp_path / "ok.zip", good).read_bytes()[:-60])
    assert "not a" in _refused(damaged)

    assert "no imsmanifest.xml at the root" in _refused(_zip(tmp_path / "vuoto.zip", {"index.html": "x"}))
    nested = _refused(_zip(tmp_path / "annidato.zip", {"corso/imsmanifest.xml": MANIFEST_12}))
    assert "found corso/imsmanifest.xml" in nested

    for name in ("../fuori.html", "a/../../fuori.html", "/etc/passwd", "C:/Windows/x.dll", "..\\fuori.html"):
        reason = _refused(_zip(tmp_path / "trav.zip", {**good, name: "x"}))
        assert "path traversal" in reason and repr(name) in reason

    link = _refused(_zip(tmp_path / "link.zip", {**good, "collegamento": "/etc/passwd"}, mode={"collegamento": 0o120777}))
    assert "symbolic link" in link

    manifest_traversal = MANIFEST_12.replace('href="l2.html"><file href="l2.html"/>',
                                             'href="../../l2.html"><file href="../../l2.html"/>')
    assert "leaves the package" in _refused(_zip(tmp_path / "mt.zip", {**good, "imsmanifest.xml": manifest_traversal}))

    assert "not well-formed" in _refused(_zip(tmp_path / "xml.zip", {**good, "imsmanifest.xml": "<manifest><"}))
    xxe = ('<?xml version="1.0"?><!DOCTYPE manifest [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<manifest>&x;</manifest>')
    assert "DOCTYPE" in _refused(_zip(tmp_path / "xxe.zip", {**good, "imsmanifest.xml": xxe}))
    missing_launch = {k: v for k, v in good.items() if k != "l2.html"}
    assert "launches l2.html, which is not in the package" in _refused(_zip(tmp_path / "ml.zip", missing_launch))
    dangling = MANIFEST_12.replace('identifierref="R2"', 'identifierref="R9"')
    assert "R9" in _refused(_zip(tmp_path / "dr.zip", {**good, "imsmanifest.xml": dangling}))
    not_scorm = '<manifest xmlns="urn:x"><resources/></manifest>'
    assert "not a SCORM manifest" in _refused(_zip(tmp_path / "ns.zip", {**good, "imsmanifest.xml": not_scorm}))


def test_oversized_packages_and_zip_bombs_are_refused(tmp_path):
    good = {"imsmanifest.xml": MANIFEST_12, "l1/index.html": "1", "l2.html": "2", "dispensa.pdf": b"%PDF"}
    path = _zip(tmp_path / "grande.zip", {**good, "video.bin": random.Random(1).randbytes(600_000)})
    assert "more than the limit of 100000" in _refused(path, Limits(package_bytes=100_000))
    assert "once uncompressed" in _refused(path, Limits(uncompressed_bytes=500_000))
    assert "entries, more than the limit of 3" in _refused(path, Limits(entries=3))
    bomb = _zip(tmp_path / "bomba.zip", {**good, "zeri.bin": bytes(50 * 1024 * 1024)})
    assert bomb.stat().st_size < 200_000
    assert "zip bomb" in _refused(bomb)


def test_cli_import(built, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["scorm", "import", str(built / "fad-fse-test-finale.zip"), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["scorm_version"] == "1.2" and out["registered"] is True
    assert out["elements"][0]["mastery_score"] == 75
    assert not (tmp_path / "fse-fad.secret").exists()  # importing needs no secret key
    registry = json.loads((tmp_path / "scorm-registry.json").read_text(encoding="utf-8"))
    assert [e["iri"] for e in registry["elements"]] == [COURSE.iri_of("test-finale")]

    broken = tmp_path / "rotto.zip"
    broken.write_bytes(io.BytesIO(b"PK\x03\x04 broken").getvalue())
    result = runner.invoke(main, ["scorm", "import", str(broken)])
    assert result.exit_code == 1
    assert "Package refused: rotto.zip: not a zip file" in result.output or "Pacchetto rifiutato" in result.output
