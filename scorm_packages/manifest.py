"""Reading ``imsmanifest.xml`` of any SCORM 1.2 or SCORM 2004 package: version, organizations,
items, SCOs and mastery score, and the SCORM 1.2 content-packaging rules the builder's manifests
must meet.

Elements are matched by local name within the IMS CP namespace of the version (1.2:
``imscp_rootv1p1p2``; 2004: ``imscp_v1p1``), so that packages written by different tools read alike.
The parser never resolves entities, loads a DTD or touches the network.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from lxml import etree

IMSCP_12 = "http://www.imsproject.org/xsd/imscp_rootv1p1p2"
IMSCP_2004 = "http://www.imsglobal.org/xsd/imscp_v1p1"
ADLCP_12 = "http://www.adlnet.org/xsd/adlcp_rootv1p2"
ADLCP_2004 = "http://www.adlnet.org/xsd/adlcp_v1p3"
IMSSS = "http://www.imsglobal.org/xsd/imsss"
SCORM_12 = "1.2"
SCORM_2004 = "2004"
NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


class ManifestError(ValueError):
    """A manifest that cannot be used: ``reason`` says why, in words an operator can act on."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass
class Sco:
    item: str  # the identifier of the item that launches it
    resource: str
    title: str
    href: str  # the launch file, relative to the package root, with the item's parameters
    mastery_score: float | None = None  # percent, 0-100
    scorm_type: str = "sco"


@dataclass
class Item:
    identifier: str
    title: str
    resource: str | None = None
    parameters: str = ""
    visible: bool = True
    mastery_score: float | None = None
    children: list["Item"] = field(default_factory=list)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class Organization:
    identifier: str
    title: str
    items: list[Item] = field(default_factory=list)

    def walk(self):
        for item in self.items:
            yield from item.walk()


@dataclass
class Resource:
    identifier: str
    href: str | None
    scorm_type: str | None
    files: list[str]
    base: str = ""


@dataclass
class Manifest:
    version: str  # "1.2" or "2004"
    schema_version: str
    identifier: str
    title: str
    default_organization: str | None
    organizations: list[Organization]
    resources: dict[str, Resource]
    scos: list[Sco]
    namespace: str
    warnings: list[str] = field(default_factory=list)

    @property
    def mastery_score(self) -> float | None:
        """The mastery score of a single-SCO package (the common case), else None."""
        scores = {s.mastery_score for s in self.scos}
        return scores.pop() if len(scores) == 1 else None


def _local(element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element, name: str) -> list:
    return [c for c in element if _local(c) == name]


def _child(element, name: str):
    found = _children(element, name)
    return found[0] if found else None


def _title(element) -> str:
    title = _child(element, "title")
    return re.sub(r"\s+", " ", "".join(title.itertext())).strip() if title is not None else ""


def _attr(element, name: str) -> str | None:
    """An attribute whatever its namespace (``adlcp:scormtype``, ``adlcp:scormType``...)."""
    for key, value in element.attrib.items():
        if etree.QName(key).localname.lower() == name.lower():
            return value
    return None


def safe_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_comments=True, remove_pis=True)


def parse_xml(data: bytes) -> etree._Element:
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise ManifestError(f"imsmanifest.xml is not well-formed XML: {exc.msg} (line {exc.lineno})") from None
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype:
        raise ManifestError("imsmanifest.xml declares a DOCTYPE: entities and DTDs are refused")
    return root


def _href_problem(href: str) -> str | None:
    """Why a relative href inside a package would escape it, or None."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return None  # an absolute URL: content outside the package, not a path
    path = unquote(parts.path).replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return f"absolute path {href!r}"
    if ".." in path.split("/"):
        return f"path {href!r} leaves the package"
    return None


def _join(base: str, href: str) -> str:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return href
    path = posixpath.normpath(posixpath.join(base, unquote(parts.path))) if base else posixpath.normpath(unquote(parts.path))
    return path + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")


def _mastery_12(item) -> float | None:
    element = _child(item, "masteryscore")
    if element is None or not (element.text or "").strip():
        return None
    try:
        value = float(element.text.strip())
    except ValueError:
        raise ManifestError(f"item {item.get('identifier')}: adlcp:masteryscore {element.text.strip()!r} is not a number") from None
    if not 0 <= value <= 100:
        raise ManifestError(f"item {item.get('identifier')}: adlcp:masteryscore {value:g} is outside 0-100")
    return value


def _mastery_2004(item) -> float | None:
    """SCORM 2004: the primary objective's minNormalizedMeasure (-1..1) when it is satisfied by
    measure, as a percentage."""
    sequencing = _child(item, "sequencing")
    if sequencing is None:
        return None
    objectives = _child(sequencing, "objectives")
    primary = _child(objectives, "primaryObjective") if objectives is not None else None
    if primary is None or (_attr(primary, "satisfiedByMeasure") or "false").lower() != "true":
        return None
    measure = _child(primary, "minNormalizedMeasure")
    text = (measure.text or "1.0").strip() if measure is not None else "1.0"
    try:
        value = float(text)
    except ValueError:
        raise ManifestError(f"item {item.get('identifier')}: minNormalizedMeasure {text!r} is not a number") from None
    if not -1 <= value <= 1:
        raise ManifestError(f"item {item.get('identifier')}: minNormalizedMeasure {value:g} is outside -1..1")
    return round(max(value, 0) * 100, 4)


def _version(root) -> tuple[str, str]:
    metadata = _child(root, "metadata")
    schema_version = ""
    if metadata is not None:
        element = _child(metadata, "schemaversion")
        schema_version = (element.text or "").strip() if element is not None else ""
    namespaces = {ns for ns in root.nsmap.values() if ns} | {etree.QName(root).namespace or ""}
    if schema_version == "1.2" or ADLCP_12 in namespaces or IMSCP_12 in namespaces:
        return SCORM_12, schema_version or "1.2"
    if schema_version.startswith("2004") or schema_version == "CAM 1.3" or ADLCP_2004 in namespaces:
        return SCORM_2004, schema_version or "2004"
    raise ManifestError("not a SCORM manifest: no schemaversion 1.2 or 2004 and no ADL namespace")


def _items(element, version: str) -> list[Item]:
    out = []
    for node in _children(element, "item"):
        identifier = node.get("identifier") or ""
        if not identifier:
            raise ManifestError("an <item> without identifier")
        mastery = _mastery_12(node) if version == SCORM_12 else _mastery_2004(node)
        out.append(Item(identifier=identifier, title=_title(node), resource=node.get("identifierref"),
                        parameters=node.get("parameters") or "", visible=(node.get("isvisible") or "true") != "false",
                        mastery_score=mastery, children=_items(node, version)))
    return out


def read_manifest(data: bytes) -> Manifest:
    """Parse a manifest; raises ManifestError with the reason when it is not usable."""
    root = parse_xml(data)
    if _local(root) != "manifest":
        raise ManifestError(f"the root element is <{_local(root)}>, not <manifest>")
    version, schema_version = _version(root)
    warnings: list[str] = []

    resources: dict[str, Resource] = {}
    resources_element = _child(root, "resources")
    if resources_element is None:
        raise ManifestError("no <resources> element")
    root_base = root.get("{http://www.w3.org/XML/1998/namespace}base") or ""
    resources_base = _join(root_base, resources_element.get("{http://www.w3.org/XML/1998/namespace}base") or "")
    for node in _children(resources_element, "resource"):
        identifier = node.get("identifier") or ""
        if not identifier:
            raise ManifestError("a <resource> without identifier")
        if identifier in resources:
            raise ManifestError(f"two resources with identifier {identifier!r}")
        base = node.get("{http://www.w3.org/XML/1998/namespace}base") or ""
        base = _join(resources_base, base) if base else resources_base
        hrefs = [node.get("href")] if node.get("href") else []
        hrefs += [f.get("href") for f in _children(node, "file") if f.get("href")]
        for href in hrefs:
            problem = _href_problem(href) or _href_problem(_join(base, href))
            if problem:
                raise ManifestError(f"resource {identifier}: {problem}")
        resources[identifier] = Resource(
            identifier=identifier,
            href=_join(base, node.get("href")) if node.get("href") else None,
            scorm_type=(_attr(node, "scormtype") or "").lower() or None,
            files=[_join(base, f.get("href")) for f in _children(node, "file") if f.get("href")],
            base=base,
        )

    organizations_element = _child(root, "organizations")
    if organizations_element is None:
        raise ManifestError("no <organizations> element")
    organizations = [Organization(node.get("identifier") or "", _title(node), _items(node, version))
                     for node in _children(organizations_element, "organization")]
    default = organizations_element.get("default")
    if default and default not in {o.identifier for o in organizations}:
        raise ManifestError(f"the default organization {default!r} does not exist")
    if not default and organizations:
        default = organizations[0].identifier

    scos: list[Sco] = []
    seen_items: set[str] = set()
    for organization in organizations:
        for item in organization.walk():
            if item.identifier in seen_items:
                raise ManifestError(f"two items with identifier {item.identifier!r}")
            seen_items.add(item.identifier)
            if item.resource is None:
                continue
            resource = resources.get(item.resource)
            if resource is None:
                raise ManifestError(f"item {item.identifier} refers to resource {item.resource!r}, which does not exist")
            if resource.href is None:
                raise ManifestError(f"resource {resource.identifier} is launched by item {item.identifier} but has no href")
            if resource.scorm_type == "sco":
                href = resource.href + _parameters(item.parameters, resource.href)
                scos.append(Sco(item.identifier, resource.identifier, item.title, href, item.mastery_score))
    if not organizations and any(r.scorm_type == "sco" for r in resources.values()):
        warnings.append("no organization: the SCOs are listed from the resources")
        scos = [Sco(r.identifier, r.identifier, r.identifier, r.href or "") for r in resources.values()
                if r.scorm_type == "sco"]
    title = ""
    if default:
        title = next(o.title for o in organizations if o.identifier == default)
    return Manifest(version=version, schema_version=schema_version, identifier=root.get("identifier") or "",
                    title=title, default_organization=default, organizations=organizations, resources=resources,
                    scos=scos, namespace=etree.QName(root).namespace or "", warnings=warnings)


def _parameters(parameters: str, href: str) -> str:
    """An item's launch parameters appended to its resource's href (SCORM CAM rules)."""
    parameters = parameters.strip()
    if not parameters:
        return ""
    while parameters[:1] in ("?", "&"):
        parameters = parameters[1:]
    if parameters.startswith("#"):
        return parameters if "#" not in href else ""
    return ("&" if "?" in href else "?") + parameters


# --- the SCORM 1.2 content-packaging rules ----------------------------------------------------

def check_scorm12(data: bytes, names: set[str] | None = None) -> list[str]:
    """The ways a manifest breaks the SCORM 1.2 content-packaging rules (empty when it meets them).
    ``names`` are the files in the package, to check that every referenced file is there."""
    problems: list[str] = []
    try:
        root = parse_xml(data)
    except ManifestError as exc:
        return [exc.reason]
    q = etree.QName(root)
    if q.localname != "manifest" or q.namespace != IMSCP_12:
        problems.append(f"the root is {{{q.namespace}}}{q.localname}, not the IMS CP 1.1.2 <manifest>")
    if root.nsmap.get("adlcp") != ADLCP_12:
        problems.append("the adlcp prefix is not bound to the ADL SCORM 1.2 namespace")
    ids: dict[str, str] = {}

    def identify(element, what: str) -> str:
        identifier = element.get("identifier") or ""
        if not NCNAME.match(identifier):
            problems.append(f"{what} identifier {identifier!r} is not an XML NCName")
        elif identifier in ids:
            problems.append(f"identifier {identifier!r} is used by a {ids[identifier]} and a {what}")
        ids[identifier] = what
        return identifier

    identify(root, "manifest")
    ns = {"cp": IMSCP_12, "adlcp": ADLCP_12}
    if root.xpath("string(cp:metadata/cp:schema)", namespaces=ns).strip() != "ADL SCORM":
        problems.append("metadata/schema is not 'ADL SCORM'")
    if root.xpath("string(cp:metadata/cp:schemaversion)", namespaces=ns).strip() != "1.2":
        problems.append("metadata/schemaversion is not '1.2'")
    order = [_local(c) for c in root if isinstance(c.tag, str)]
    expected = [n for n in ("metadata", "organizations", "resources") if n in order]
    if [n for n in order if n in expected] != expected:
        problems.append("manifest children are not in the order metadata, organizations, resources")
    organizations = root.xpath("cp:organizations/cp:organization", namespaces=ns)
    if not organizations:
        problems.append("no organization")
    for organization in organizations:
        identify(organization, "organization")
        if not organization.xpath("string(cp:title)", namespaces=ns).strip():
            problems.append(f"organization {organization.get('identifier')} has no title")
    default = root.xpath("string(cp:organizations/@default)", namespaces=ns)
    if default not in {o.get("identifier") for o in organizations}:
        problems.append(f"organizations/@default {default!r} names no organization")
    resources = root.xpath("cp:resources/cp:resource", namespaces=ns)
    for resource in resources:
        identify(resource, "resource")
        scormtype = resource.get(f"{{{ADLCP_12}}}scormtype")
        if scormtype not in ("sco", "asset"):
            problems.append(f"resource {resource.get('identifier')}: adlcp:scormtype is {scormtype!r}, not sco or asset")
        if not resource.get("type"):
            problems.append(f"resource {resource.get('identifier')} has no type")
        hrefs = ([resource.get("href")] if resource.get("href") else []) + resource.xpath("cp:file/@href", namespaces=ns)
        if scormtype == "sco" and not resource.get("href"):
            problems.append(f"SCO resource {resource.get('identifier')} has no href")
        for href in hrefs:
            problem = _href_problem(href)
            if problem:
                problems.append(f"resource {resource.get('identifier')}: {problem}")
            elif names is not None and not urlsplit(href).scheme and unquote(urlsplit(href).path) not in names:
                problems.append(f"resource {resource.get('identifier')}: {href} is not in the package")
        if resource.get("href") and resource.get("href") not in resource.xpath("cp:file/@href", namespaces=ns):
            problems.append(f"resource {resource.get('identifier')}: its href is not listed as a <file>")
    resource_ids = {r.get("identifier"): r for r in resources}
    for item in root.xpath("//cp:item", namespaces=ns):
        identify(item, "item")
        if not item.xpath("string(cp:title)", namespaces=ns).strip():
            problems.append(f"item {item.get('identifier')} has no title")
        ref = item.get("identifierref")
        if ref is not None and ref not in resource_ids:
            problems.append(f"item {item.get('identifier')}: identifierref {ref!r} names no resource")
        child_order = [_local(c) for c in item if isinstance(c.tag, str) and _local(c) != "item"]
        adl = ["prerequisites", "maxtimeallowed", "timelimitaction", "datafromlms", "masteryscore"]
        present = [n for n in child_order if n in adl]
        if present != sorted(present, key=adl.index) or (child_order and child_order[0] != "title"):
            problems.append(f"item {item.get('identifier')}: children out of the SCORM 1.2 order (title, then {', '.join(adl)})")
        for mastery in item.xpath("adlcp:masteryscore", namespaces=ns):
            try:
                value = float(mastery.text)
                if not 0 <= value <= 100:
                    raise ValueError
            except (TypeError, ValueError):
                problems.append(f"item {item.get('identifier')}: adlcp:masteryscore {mastery.text!r} is not a number 0-100")
        if item.get("isvisible") not in (None, "true", "false"):
            problems.append(f"item {item.get('identifier')}: isvisible is not true or false")
    return problems
