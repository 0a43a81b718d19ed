"""The XLSX reader of rosters on workbooks as Excel writes them: shared strings, rich text, sparse
rows and cells, a first sheet that is not sheet1.xml; and on hostile or damaged files."""
import io
import zipfile

import pytest

from courses import xlsx
from courses.importing import validate_roster
from fse_fad.errors import BadRequest
from tests.courses_support import HEADER, make_cf, row, xlsx_bytes

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
REL_NS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'


def workbook(sheet_rows: str, shared: str = "", sheet_part: str = "worksheets/roster.xml") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", f'<workbook {NS} {REL_NS}><sheets>'
                         f'<sheet name="Dipendenti" sheetId="1" r:id="rId7"/>'
                         f'<sheet name="Altro" sheetId="2" r:id="rId8"/></sheets></workbook>')
        archive.writestr("xl/_rels/workbook.xml.rels",
                         '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                         f'<Relationship Id="rId8" Target="worksheets/other.xml"/>'
                         f'<Relationship Id="rId7" Target="{sheet_part}"/></Relationships>')
        archive.writestr("xl/worksheets/other.xml", f'<worksheet {NS}><sheetData/></worksheet>')
        archive.writestr(f"xl/{sheet_part}", f'<worksheet {NS}><sheetData>{sheet_rows}</sheetData></worksheet>')
        if shared:
            archive.writestr("xl/sharedStrings.xml", shared)
    return out.getvalue()


def test_excel_style_workbook():
    header = "".join(f'<c r="{chr(65 + i)}1" t="s"><v>{i}</v></c>' for i in range(len(HEADER)))
    strings = "".join(f"<si><t>{name}</t></si>" for name in HEADER)
    values = row(1)
    # Shared strings (one of them in rich-text runs with a phonetic reading), an inline string, a
    # number stored as a float, and cells left out (E3: no email column value).
    strings += (f"<si><t>{values['codice_fiscale']}</t></si>"                              # 11
                "<si><r><t>D'</t></r><r><rPr><b/></rPr><t>Alessandro</t></r><rPh><t>x</t></rPh></si>"  # 12
                "<si><t>Niccolò</t></si>")                                                  # 13
    shared = f'<sst {NS}>{strings}</sst>'
    line3 = ('<row r="3"><c r="A3" t="s"><v>11</v></c><c r="B3" t="s"><v>12</v></c><c r="C3" t="s"><v>13</v></c>'
             '<c r="E3" t="inlineStr"><is><t>USL-TC</t></is></c><c r="F3" t="inlineStr"><is><t>2.vi</t></is></c>'
             '<c r="G3"><v>14</v></c><c r="H3"><v>85.0</v></c><c r="I3" t="inlineStr"><is><t>dipendente</t></is></c>'
             '<c r="J3"><v>1.001E3</v></c></row>')
    content = workbook(f'<row r="1">{header}</row>{line3}', shared)
    lines = list(xlsx.rows(content))
    assert lines[1] == (3, [make_cf(1), "D'Alessandro", "Niccolò", "", "USL-TC", "2.vi", "14", "85", "dipendente", "1001"])
    rows, report = validate_roster(content)
    assert report.problems == [] and rows[0].line == 3 and rows[0].moodle_id == "1001"
    assert (rows[0].surname, rows[0].disciplines) == ("D'Alessandro", [85])


def test_a_bad_row_is_reported_with_its_sheet_line():
    content = xlsx_bytes([row(1), row(2, categoria="9.z")])
    _rows, report = validate_roster(content)
    assert [(p.line, p.column) for p in report.problems] == [(3, "categoria")]


def test_entities_are_not_expanded():
    bomb = ('<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "AAAAAAAAAA"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
            f'<sst {NS}><si><t>&b;</t></si><si><t>&secret;</t></si></sst>')
    content = workbook('<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>', bomb)
    assert list(xlsx.rows(content)) == [(1, ["", ""])]


@pytest.mark.parametrize("content", [b"PK\x03\x04 not really a zip", workbook("<row><c", "")])
def test_damaged_workbook_is_a_file_error(content):
    with pytest.raises(BadRequest) as info:
        validate_roster(content)
    assert info.value.problems[0].field == "file"
