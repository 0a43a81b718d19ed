"""The xAPI 1.0.3 data rules (Data section of the specification), as plain functions.

Every check names the offending field with a path such as ``statement[2].context.instructor.mbox``
and the rule it breaks, so that a rejected batch tells its sender exactly what to fix. The
rules are written out here rather than in a schema library because xAPI objects are
polymorphic by ``objectType`` and the specification's constraints cross fields (one inverse
functional identifier, interaction components per interaction type, context properties that
depend on the object).
"""
from __future__ import annotations

import re
from typing import Any

from fse_fad.errors import BadRequest

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$")
IRI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$")
MAILTO_RE = re.compile(r"^mailto:[^@\s:]+@[^@\s]+$")
SHA1_RE = re.compile(r"^[0-9a-fA-F]{40}$")
SHA2_RE = re.compile(r"^[0-9a-fA-F]{56,128}$")
LANG_TAG_RE = re.compile(r"^(?:[A-Za-z]{2,3}(?:-[A-Za-z]{3}){0,3}|[A-Za-z]{4,8})(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|[0-9]{3}))?"
                         r"(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*(?:-[0-9A-WY-Za-wy-z](?:-[A-Za-z0-9]{2,8})+)*"
                         r"(?:-[xX](?:-[A-Za-z0-9]{1,8})+)?$|^[xX](?:-[A-Za-z0-9]{1,8})+$")
TIMESTAMP_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$")
# Weeks stand alone in ISO 8601 (PnW); otherwise PnYnMnDTnHnMnS with at least one part.
DURATION_RE = re.compile(
    r"^P(?:\d+(?:\.\d+)?W|(?!$)(?:\d+(?:\.\d+)?Y)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?D)?"
    r"(?:T(?=\d)(?:\d+(?:\.\d+)?H)?(?:\d+(?:\.\d+)?M)?(?:\d+(?:\.\d+)?S)?)?)$")
VERSION_RE = re.compile(r"^1\.0(?:\.\d+)?$")
MEDIA_TYPE_RE = re.compile(r"^[\w.+\-!#$&^]+/[\w.+\-!#$&^]+(?:\s*;.*)?$")

IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")
INTERACTION_TYPES = {
    "true-false": (),
    "choice": ("choices",),
    "fill-in": (),
    "long-fill-in": (),
    "matching": ("source", "target"),
    "performance": ("steps",),
    "sequencing": ("choices",),
    "likert": ("scale",),
    "numeric": (),
    "other": (),
}
COMPONENT_LISTS = ("choices", "scale", "source", "target", "steps")
CONTEXT_ACTIVITY_KEYS = ("parent", "grouping", "category", "other")
VOIDED_VERB = "http://adlnet.gov/expapi/verbs/voided"
SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"

# Nesting and size bounds keep hostile input from exhausting a worker.
MAX_STRING = 64 * 1024
MAX_DEPTH = 32


def fail(path: str, rule: str):
    raise BadRequest(f"{path}: {rule}", field=path, rule=rule)


def _obj(value: Any, path: str) -> dict:
    if not isinstance(value, dict):
        fail(path, "must be a JSON object")
    return value


def _keys(value: dict, path: str, allowed: tuple[str, ...] | set[str], required: tuple[str, ...] = ()) -> None:
    for key, item in value.items():
        if key not in allowed:
            fail(f"{path}.{key}", "is not a property allowed here")
        if item is None:
            fail(f"{path}.{key}", "must not be null")
    for key in required:
        if key not in value:
            fail(f"{path}.{key}", "is required")


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        fail(path, "must be a string")
    if len(value) > MAX_STRING:
        fail(path, f"must be at most {MAX_STRING} characters")
    return value


def _bool(value: Any, path: str) -> None:
    if not isinstance(value, bool):
        fail(path, "must be true or false")


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(path, "must be a number")
    return value


def is_iri(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 4096 and IRI_RE.match(value) is not None


def _iri(value: Any, path: str) -> None:
    if not is_iri(value):
        fail(path, "must be an absolute IRI")


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and UUID_RE.match(value) is not None


def _uuid(value: Any, path: str) -> None:
    if not is_uuid(value):
        fail(path, "must be a UUID (RFC 4122)")


def is_language_tag(value: Any) -> bool:
    return isinstance(value, str) and LANG_TAG_RE.match(value) is not None


def _language_map(value: Any, path: str) -> None:
    _obj(value, path)
    for tag, text in value.items():
        if not is_language_tag(tag):
            fail(f"{path}.{tag}", "must be keyed by an RFC 5646 language tag")
        _string(text, f"{path}.{tag}")


def parse_timestamp(value: Any):
    """Return the matched groups of an ISO 8601 timestamp, or None."""
    if not isinstance(value, str):
        return None
    match = TIMESTAMP_RE.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour <= 23 and minute <= 59 and second <= 60):
        return None
    offset = match.group(8)
    if offset in ("-00", "-0000", "-00:00"):  # RFC 3339's "unknown offset" is not allowed by xAPI
        return None
    return match


def _timestamp(value: Any, path: str) -> None:
    if parse_timestamp(value) is None:
        fail(path, "must be an ISO 8601 timestamp")


def _extensions(value: Any, path: str) -> None:
    _obj(value, path)
    for key, item in value.items():
        if not is_iri(key):
            fail(f"{path}.{key}", "extension keys must be IRIs")
        _depth(item, f"{path}.{key}", 0)


def _depth(value: Any, path: str, level: int) -> None:
    if level > MAX_DEPTH:
        fail(path, f"must not nest deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        for item in value.values():
            _depth(item, path, level + 1)
    elif isinstance(value, list):
        for item in value:
            _depth(item, path, level + 1)
    elif isinstance(value, str) and len(value) > MAX_STRING:
        fail(path, f"must be at most {MAX_STRING} characters")


def _ifis(value: dict, path: str) -> list[str]:
    present = [k for k in IFI_KEYS if k in value]
    for key in present:
        item = value[key]
        where = f"{path}.{key}"
        if key == "mbox":
            if not isinstance(item, str) or not MAILTO_RE.match(item):
                fail(where, "must be a mailto: IRI")
        elif key == "mbox_sha1sum":
            if not isinstance(item, str) or not SHA1_RE.match(item):
                fail(where, "must be the hex SHA-1 of a mailto: IRI")
        elif key == "openid":
            _iri(item, where)
        else:
            account = _obj(item, where)
            _keys(account, where, ("homePage", "name"), ("homePage", "name"))
            _iri(account["homePage"], f"{where}.homePage")
            _string(account["name"], f"{where}.name")
    return present


def validate_agent(value: Any, path: str, *, object_type_required: bool = False) -> None:
    agent = _obj(value, path)
    _keys(agent, path, ("objectType", "name", *IFI_KEYS))
    object_type = agent.get("objectType")
    if object_type_required and object_type is None:
        fail(f"{path}.objectType", "is required here")
    if object_type is not None and object_type != "Agent":
        fail(f"{path}.objectType", "must be 'Agent'")
    if "name" in agent:
        _string(agent["name"], f"{path}.name")
    if len(_ifis(agent, path)) != 1:
        fail(path, "an Agent must have exactly one of mbox, mbox_sha1sum, openid, account")


def validate_group(value: Any, path: str) -> None:
    group = _obj(value, path)
    _keys(group, path, ("objectType", "name", "member", *IFI_KEYS), ("objectType",))
    if group["objectType"] != "Group":
        fail(f"{path}.objectType", "must be 'Group'")
    if "name" in group:
        _string(group["name"], f"{path}.name")
    ifis = _ifis(group, path)
    if len(ifis) > 1:
        fail(path, "a Group must have at most one inverse functional identifier")
    if "member" in group:
        members = group["member"]
        if not isinstance(members, list):
            fail(f"{path}.member", "must be an array of Agents")
        for i, member in enumerate(members):
            validate_agent(member, f"{path}.member[{i}]")
    if not ifis and not group.get("member"):
        fail(f"{path}.member", "an anonymous Group must list its members")


def validate_actor(value: Any, path: str, *, object_type_required: bool = False) -> None:
    if isinstance(value, dict) and value.get("objectType") == "Group":
        validate_group(value, path)
    else:
        validate_agent(value, path, object_type_required=object_type_required)


def validate_verb(value: Any, path: str) -> None:
    verb = _obj(value, path)
    _keys(verb, path, ("id", "display"), ("id",))
    _iri(verb["id"], f"{path}.id")
    if "display" in verb:
        _language_map(verb["display"], f"{path}.display")


def _components(value: Any, path: str) -> None:
    if not isinstance(value, list):
        fail(path, "must be an array of interaction components")
    seen = set()
    for i, component in enumerate(value):
        where = f"{path}[{i}]"
        _obj(component, where)
        _keys(component, where, ("id", "description"), ("id",))
        cid = _string(component["id"], f"{where}.id")
        if not cid.strip():
            fail(f"{where}.id", "must not be empty")
        if cid in seen:
            fail(f"{where}.id", "must be unique within the list")
        seen.add(cid)
        if "description" in component:
            _language_map(component["description"], f"{where}.description")


def validate_definition(value: Any, path: str) -> None:
    definition = _obj(value, path)
    _keys(definition, path, ("name", "description", "type", "moreInfo", "extensions", "interactionType",
                             "correctResponsesPattern", *COMPONENT_LISTS))
    for key in ("name", "description"):
        if key in definition:
            _language_map(definition[key], f"{path}.{key}")
    for key in ("type", "moreInfo"):
        if key in definition:
            _iri(definition[key], f"{path}.{key}")
    if "extensions" in definition:
        _extensions(definition["extensions"], f"{path}.extensions")
    interaction = definition.get("interactionType")
    if interaction is not None and (not isinstance(interaction, str) or interaction not in INTERACTION_TYPES):
        fail(f"{path}.interactionType", f"must be one of {', '.join(INTERACTION_TYPES)}")
    if "correctResponsesPattern" in definition:
        if interaction is None:
            fail(f"{path}.correctResponsesPattern", "requires interactionType")
        pattern = definition["correctResponsesPattern"]
        if not isinstance(pattern, list):
            fail(f"{path}.correctResponsesPattern", "must be an array of strings")
        for i, item in enumerate(pattern):
            _string(item, f"{path}.correctResponsesPattern[{i}]")
    for key in COMPONENT_LISTS:
        if key in definition:
            if interaction is None:
                fail(f"{path}.{key}", "requires interactionType")
            if key not in INTERACTION_TYPES[interaction]:
                fail(f"{path}.{key}", f"is not allowed for interactionType {interaction!r}")
            _components(definition[key], f"{path}.{key}")


def validate_activity(value: Any, path: str) -> None:
    activity = _obj(value, path)
    _keys(activity, path, ("objectType", "id", "definition"), ("id",))
    if activity.get("objectType", "Activity") != "Activity":
        fail(f"{path}.objectType", "must be 'Activity'")
    _iri(activity["id"], f"{path}.id")
    if "definition" in activity:
        validate_definition(activity["definition"], f"{path}.definition")


def validate_statement_ref(value: Any, path: str) -> None:
    ref = _obj(value, path)
    _keys(ref, path, ("objectType", "id"), ("objectType", "id"))
    if ref["objectType"] != "StatementRef":
        fail(f"{path}.objectType", "must be 'StatementRef'")
    _uuid(ref["id"], f"{path}.id")


def validate_object(value: Any, path: str, *, in_substatement: bool) -> None:
    obj = _obj(value, path)
    object_type = obj.get("objectType", "Activity")
    if object_type == "Activity":
        validate_activity(obj, path)
    elif object_type == "Agent":
        validate_agent(obj, path, object_type_required=True)
    elif object_type == "Group":
        validate_group(obj, path)
    elif object_type == "StatementRef":
        validate_statement_ref(obj, path)
    elif object_type == "SubStatement":
        if in_substatement:
            fail(f"{path}.objectType", "a SubStatement must not contain a SubStatement")
        _validate_statement_body(obj, path, substatement=True)
    else:
        fail(f"{path}.objectType", "must be Activity, Agent, Group, StatementRef or SubStatement")


def validate_result(value: Any, path: str) -> None:
    result = _obj(value, path)
    _keys(result, path, ("score", "success", "completion", "response", "duration", "extensions"))
    if "score" in result:
        where = f"{path}.score"
        score = _obj(result["score"], where)
        _keys(score, where, ("scaled", "raw", "min", "max"))
        for key in score:
            _number(score[key], f"{where}.{key}")
        if "scaled" in score and not -1 <= score["scaled"] <= 1:
            fail(f"{where}.scaled", "must be between -1 and 1")
        if "min" in score and "max" in score and score["min"] > score["max"]:
            fail(f"{where}.min", "must not exceed max")
        if "raw" in score:
            if "min" in score and score["raw"] < score["min"]:
                fail(f"{where}.raw", "must not be below min")
            if "max" in score and score["raw"] > score["max"]:
                fail(f"{where}.raw", "must not exceed max")
    for key in ("success", "completion"):
        if key in result:
            _bool(result[key], f"{path}.{key}")
    if "response" in result:
        _string(result["response"], f"{path}.response")
    if "duration" in result:
        duration = result["duration"]
        if not isinstance(duration, str) or not DURATION_RE.match(duration):
            fail(f"{path}.duration", "must be an ISO 8601 duration")
    if "extensions" in result:
        _extensions(result["extensions"], f"{path}.extensions")


def validate_context(value: Any, path: str, object_value: dict) -> None:
    context = _obj(value, path)
    _keys(context, path, ("registration", "instructor", "team", "contextActivities", "revision", "platform",
                          "language", "statement", "extensions"))
    if "registration" in context:
        _uuid(context["registration"], f"{path}.registration")
    if "instructor" in context:
        validate_actor(context["instructor"], f"{path}.instructor")
    if "team" in context:
        team = context["team"]
        if not isinstance(team, dict) or team.get("objectType") != "Group":
            fail(f"{path}.team", "must be a Group")
        validate_group(team, f"{path}.team")
    if "contextActivities" in context:
        where = f"{path}.contextActivities"
        activities = _obj(context["contextActivities"], where)
        _keys(activities, where, CONTEXT_ACTIVITY_KEYS)
        for key, item in activities.items():
            if isinstance(item, list):
                for i, activity in enumerate(item):
                    validate_activity(activity, f"{where}.{key}[{i}]")
            else:
                validate_activity(item, f"{where}.{key}")
    object_is_activity = object_value.get("objectType", "Activity") == "Activity"
    for key in ("revision", "platform"):
        if key in context:
            _string(context[key], f"{path}.{key}")
            if not object_is_activity:
                fail(f"{path}.{key}", "is allowed only when the object is an Activity")
    if "language" in context and not is_language_tag(context["language"]):
        fail(f"{path}.language", "must be an RFC 5646 language tag")
    if "statement" in context:
        validate_statement_ref(context["statement"], f"{path}.statement")
    if "extensions" in context:
        _extensions(context["extensions"], f"{path}.extensions")


def validate_attachments(value: Any, path: str) -> None:
    if not isinstance(value, list):
        fail(path, "must be an array of attachments")
    for i, attachment in enumerate(value):
        where = f"{path}[{i}]"
        _obj(attachment, where)
        _keys(attachment, where, ("usageType", "display", "description", "contentType", "length", "sha2",
                                  "fileUrl"), ("usageType", "display", "contentType", "length", "sha2"))
        _iri(attachment["usageType"], f"{where}.usageType")
        _language_map(attachment["display"], f"{where}.display")
        if "description" in attachment:
            _language_map(attachment["description"], f"{where}.description")
        content_type = attachment["contentType"]
        if not isinstance(content_type, str) or not MEDIA_TYPE_RE.match(content_type):
            fail(f"{where}.contentType", "must be an Internet media type")
        length = attachment["length"]
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            fail(f"{where}.length", "must be a non-negative integer")
        if not isinstance(attachment["sha2"], str) or not SHA2_RE.match(attachment["sha2"]):
            fail(f"{where}.sha2", "must be the hex SHA-2 of the content")
        if "fileUrl" in attachment:
            _iri(attachment["fileUrl"], f"{where}.fileUrl")


def _validate_statement_body(statement: dict, path: str, *, substatement: bool) -> None:
    allowed = ("actor", "verb", "object", "result", "context", "timestamp", "attachments")
    if substatement:
        _keys(statement, path, ("objectType", *allowed), ("actor", "verb", "object"))
    else:
        _keys(statement, path, ("id", "stored", "authority", "version", *allowed), ("actor", "verb", "object"))
    validate_actor(statement["actor"], f"{path}.actor")
    validate_verb(statement["verb"], f"{path}.verb")
    validate_object(statement["object"], f"{path}.object", in_substatement=substatement)
    if "result" in statement:
        validate_result(statement["result"], f"{path}.result")
    if "context" in statement:
        validate_context(statement["context"], f"{path}.context", statement["object"])
    if "timestamp" in statement:
        _timestamp(statement["timestamp"], f"{path}.timestamp")
    if "attachments" in statement:
        validate_attachments(statement["attachments"], f"{path}.attachments")
    if statement["verb"]["id"] == VOIDED_VERB and statement["object"].get("objectType") != "StatementRef":
        fail(f"{path}.object", "a voiding statement's object must be a StatementRef")


def validate_statement(value: Any, path: str = "statement") -> dict:
    statement = _obj(value, path)
    _validate_statement_body(statement, path, substatement=False)
    if "id" in statement:
        _uuid(statement["id"], f"{path}.id")
    if "stored" in statement:
        _timestamp(statement["stored"], f"{path}.stored")
    if "version" in statement:
        if not isinstance(statement["version"], str) or not VERSION_RE.match(statement["version"]):
            fail(f"{path}.version", "must be a 1.0.x version")
    if "authority" in statement:
        authority = statement["authority"]
        validate_actor(authority, f"{path}.authority")
        if isinstance(authority, dict) and authority.get("objectType") == "Group":
            if any(k in authority for k in IFI_KEYS):
                fail(f"{path}.authority", "an authority Group is the anonymous pair of an OAuth consumer and user")
            if len(authority.get("member", [])) != 2:
                fail(f"{path}.authority.member", "an authority Group must have exactly two members")
    return statement
