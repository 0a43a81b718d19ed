"""``fse-fad scorm``: build the course's SCORM packages, import any SCORM package."""
from __future__ import annotations

import json
from pathlib import Path

import click

from fse_fad.i18n import _


@click.group(help=_("SCORM packages: build the course's packages, import a package."))
def scorm() -> None:
    pass


@scorm.command("build", help=_("Write the course's SCORM 1.2 packages, their index and the Moodle restriction rules."))
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help=_("Directory to write into (created if missing)."))
@click.option("--strict", is_flag=True, default=False,
              help=_("Fail when a module source is missing (for a release)."))
@click.option("--json", "as_json", is_flag=True, default=False, help=_("Print JSON."))
def build_command(out: Path, strict: bool, as_json: bool) -> None:
    from scorm_packages.builder import BuildError, build
    from scorm_packages.content import SourceError

    try:
        report = build(out, strict=strict)
    except (BuildError, SourceError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"out": str(out), "packages": report.packages, "missing_sources": report.missing},
                              ensure_ascii=False))
        return
    for package in report.packages:
        click.echo(f"{package['file']}  {package['bytes']} bytes  {package['sha256'][:16]}")
    if report.missing:
        click.echo(_("Missing module sources (their packages were not built): %(missing)s",
                     missing=", ".join(report.missing)), err=True)
    click.echo(_("%(count)d packages written to %(out)s.", count=len(report.packages), out=str(out)), err=True)


@scorm.command("import", help=_("Check a SCORM 1.2 or 2004 package and register its SCOs as catalogue elements."))
@click.argument("package", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--registry", type=click.Path(dir_okay=False, path_type=Path), default=Path("scorm-registry.json"),
              show_default=True, help=_("JSON file of the registered elements."))
@click.option("--iri-base", default=None,
              help=_("Base of the IRIs given to SCOs without a tincan.xml activity (default: public URL + /scorm)."))
@click.option("--dry-run", is_flag=True, default=False, help=_("Check and print, register nothing."))
@click.option("--json", "as_json", is_flag=True, default=False, help=_("Print JSON."))
def import_command(package: Path, registry: Path, iri_base: str | None, dry_run: bool, as_json: bool) -> None:
    from scorm_packages.importing import PackageRefused, open_package, register

    if iri_base is None:
        from fse_fad.config import Config

        # Only the public URL is needed: no secret key is read or generated for it.
        iri_base = f"{Config.from_env(secret_key='not-used').public_url}/scorm"
    try:
        imported = open_package(package)
        elements = imported.elements(iri_base) if dry_run else register(imported, registry, iri_base)
    except PackageRefused as exc:
        raise click.ClickException(_("Package refused: %(reason)s", reason=exc.reason)) from None
    manifest = imported.manifest
    if as_json:
        click.echo(json.dumps({"package": package.name, "sha256": imported.sha256, "scorm_version": manifest.version,
                               "schema_version": manifest.schema_version, "title": manifest.title,
                               "organizations": [{"identifier": o.identifier, "title": o.title,
                                                  "items": [i.identifier for i in o.walk()]}
                                                 for o in manifest.organizations],
                               "elements": elements, "warnings": imported.warnings,
                               "registered": not dry_run}, ensure_ascii=False))
        return
    click.echo(f"{package.name}: SCORM {manifest.schema_version}, {manifest.title or manifest.identifier}")
    for element in elements:
        mastery = "" if element["mastery_score"] is None else f"  mastery {element['mastery_score']:g}"
        click.echo(f"  {element['item']}  {element['title']}  {element['launch']}{mastery}\n    {element['iri']}")
    for warning in imported.warnings:
        click.echo(_("Warning: %(warning)s", warning=warning), err=True)
    if not dry_run:
        click.echo(_("%(count)d element(s) registered in %(registry)s.", count=len(elements), registry=str(registry)),
                   err=True)
