"""Importing a SCORM package (1.2 or 2004) as catalogue elements, after checking that the zip is
safe to handle.

A package is refused, with its reason, when it is not a zip or is damaged, is larger than the
limits (compressed size, uncompressed size, number of entries, compression ratio: zip bombs),
holds a path that would leave the package once extracted (``..``, absolute paths, drive letters,
symbolic links), holds encrypted or duplicate entries, has no ``imsmanifest.xml`` at its root, or
has a manifest that cannot be used (manifest.py). Only the manifest (and ``tincan.xml``) are read;
nothing is extracted.

Registering writes the elements into a JSON registry file (one entry per SCO, keyed by activity
IRI): importing the same package again updates its entries, never duplicates them.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from scorm_packages.manifest import Manifest, ManifestError, parse_xml, read_manifest

MAX_PACKAGE_BYTES = 200 * 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
MAX_ENTRIES = 10_000
MAX_RATIO = 200  # uncompressed/compressed, per entry larger than 1 MB
MAX_MANIFEST_BYTES = 5 * 1024 * 1024
TINCAN_NS = "http://projecttincan.com/tincan.xsd"


class PackageRefused(ValueError):
    """A package that is not imported, with the reason."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Limits:
    package_bytes: int = MAX_PACKAGE_BYTES
    uncompressed_bytes: int = MAX_UNCOMPRESSED_BYTES
    entries: int = MAX_ENTRIES
    ratio: int = MAX_RATIO


@dataclass
class ImportedPackage:
    path: Path
    sha256: str
    bytes: int
    manifest: Manifest
    names: set[str] = field(repr=False)
    tincan_activities: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def elements(self, iri_base: str) -> list[dict]:
        """One catalogue element per SCO. Its IRI is the tincan.xml activity of a single-SCO package
        when there is one (the IRI its content sends statements about), else
        ``{iri_base}/{manifest identifier}/{item identifier}``."""
        out = []
        single = len(self.manifest.scos) == 1 and len(self.tincan_activities) == 1
        for sco in self.manifest.scos:
            if single:
                iri = self.tincan_activities[0]["id"]
                kind_type = self.tincan_activities[0].get("type")
            else:
                iri = f"{iri_base.rstrip('/')}/{_segment(self.manifest.identifier or self.sha256[:12])}/{_segment(sco.item)}"
                kind_type = None
            out.append({
                "iri": iri,
                "kind": "scorm-sco",
                "activity_type": kind_type,
                "title": sco.title or self.manifest.title,
                "package": self.path.name,
                "package_sha256": self.sha256,
                "scorm_version": self.manifest.version,
                "manifest": self.manifest.identifier,
                "organization": self.manifest.default_organization,
                "item": sco.item,
                "launch": sco.href,
                "mastery_score": sco.mastery_score,
            })
        return out


def _segment(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._~-]", "-", text)


def _check_name(info: zipfile.ZipInfo) -> str | None:
    """Why an entry name is unsafe, or None."""
    name = info.filename
    if "\x00" in name:
        return f"entry {name!r} has a NUL character in its name"
    normal = name.replace("\\", "/")
    if normal.startswith("/") or re.match(r"^[A-Za-z]:", normal):
        return f"entry {name!r} has an absolute path (path traversal)"
    if ".." in PurePosixPath(normal).parts:
        return f"entry {name!r} leaves the package (path traversal)"
    mode = info.external_attr >> 16
    if info.create_system == 3 and stat.S_ISLNK(mode):
        return f"entry {name!r} is a symbolic link"
    return None


def open_package(path: Path, limits: Limits = Limits()) -> ImportedPackage:
    """Check a package and read its manifest; raises PackageRefused with the reason."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise PackageRefused(f"{path.name}: no such file") from None
    if size > limits.package_bytes:
        raise PackageRefused(f"{path.name}: the package is {size} bytes, more than the limit of {limits.package_bytes}")
    if not zipfile.is_zipfile(path):
        raise PackageRefused(f"{path.name}: not a zip file, or a damaged one")
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise PackageRefused(f"{path.name}: not a readable zip file ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.entries:
            raise PackageRefused(f"{path.name}: {len(infos)} entries, more than the limit of {limits.entries}")
        total = 0
        names: set[str] = set()
        for info in infos:
            problem = _check_name(info)
            if problem:
                raise PackageRefused(f"{path.name}: {problem}")
            if info.flag_bits & 0x1:
                raise PackageRefused(f"{path.name}: entry {info.filename!r} is encrypted")
            normal = info.filename.replace("\\", "/")
            if normal in names:
                raise PackageRefused(f"{path.name}: entry {info.filename!r} appears twice")
            names.add(normal)
            total += info.file_size
            if total > limits.uncompressed_bytes:
                raise PackageRefused(f"{path.name}: more than {limits.uncompressed_bytes} bytes once uncompressed "
                                     "(oversized package or zip bomb)")
            if info.file_size > 1024 * 1024 and info.file_size > limits.ratio * max(info.compress_size, 1):
                raise PackageRefused(f"{path.name}: entry {info.filename!r} expands {info.file_size // max(info.compress_size, 1)} "
                                     f"times (more than {limits.ratio}): a zip bomb")
        if "imsmanifest.xml" not in names:
            nested = sorted(n for n in names if n.lower().endswith("/imsmanifest.xml") or n.lower() == "imsmanifest.xml")
            where = f" (found {nested[0]}: the manifest must be at the root of the zip)" if nested else ""
            raise PackageRefused(f"{path.name}: no imsmanifest.xml at the root of the package{where}")
        manifest_bytes = _read_entry(archive, path.name, "imsmanifest.xml")
        try:
            manifest = read_manifest(manifest_bytes)
        except ManifestError as exc:
            raise PackageRefused(f"{path.name}: {exc.reason}") from None
        warnings = list(manifest.warnings)
        for sco in manifest.scos:
            launch = sco.href.split("?", 1)[0].split("#", 1)[0]
            if "://" not in launch and launch not in names:
                raise PackageRefused(f"{path.name}: the SCO {sco.item} launches {launch}, which is not in the package")
        if not manifest.scos:
            warnings.append("no SCO: the package has only assets")
        for resource in manifest.resources.values():
            for name in resource.files:
                if "://" not in name and name.split("#", 1)[0] not in names:
                    warnings.append(f"resource {resource.identifier} lists {name}, which is not in the package")
        activities = _tincan_activities(archive, path.name) if "tincan.xml" in names else []
    return ImportedPackage(path=path, sha256=digest.hexdigest(), bytes=size, manifest=manifest, names=names,
                           tincan_activities=activities, warnings=warnings)


def _read_entry(archive: zipfile.ZipFile, label: str, name: str) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > MAX_MANIFEST_BYTES:
        raise PackageRefused(f"{label}: {name} is {info.file_size} bytes, more than {MAX_MANIFEST_BYTES}")
    try:
        with archive.open(info) as fh:
            data = fh.read(MAX_MANIFEST_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise PackageRefused(f"{label}: {name} cannot be read ({exc})") from None
    if len(data) > MAX_MANIFEST_BYTES:
        raise PackageRefused(f"{label}: {name} is larger than {MAX_MANIFEST_BYTES} bytes")
    return data


def _tincan_activities(archive: zipfile.ZipFile, label: str) -> list[dict]:
    try:
        root = parse_xml(_read_entry(archive, label, "tincan.xml"))
    except (ManifestError, PackageRefused):
        return []
    out = []
    for activity in root.iter(f"{{{TINCAN_NS}}}activity"):
        if activity.get("id"):
            launch = activity.find(f"{{{TINCAN_NS}}}launch")
            out.append({"id": activity.get("id"), "type": activity.get("type"),
                        "launch": (launch.text or "").strip() if launch is not None else None})
    return out


def register(package: ImportedPackage, registry: Path, iri_base: str) -> list[dict]:
    """Add the package's elements to the registry file (replacing the entries with the same IRI)
    and return them. The file is written whole, through a temporary file."""
    elements = package.elements(iri_base)
    current = {"elements": []}
    if registry.exists():
        try:
            current = json.loads(registry.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise PackageRefused(f"{registry.name}: the registry is not valid JSON ({exc.msg})") from None
    kept = [e for e in current.get("elements", []) if e.get("iri") not in {n["iri"] for n in elements}]
    current["elements"] = sorted(kept + elements, key=lambda e: e["iri"])
    temporary = registry.with_name(registry.name + ".tmp")
    temporary.write_text(json.dumps(current, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, registry)
    return elements


__all__ = ["ImportedPackage", "Limits", "PackageRefused", "open_package", "register"]
