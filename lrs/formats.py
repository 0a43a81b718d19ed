"""The three formats of GET statements: exact (as stored), ids and canonical."""
from __future__ import annotations

import copy

from lrs.rules import IFI_KEYS


def _agent_ids(agent: dict) -> dict:
    reduced = {k: agent[k] for k in IFI_KEYS if k in agent}
    if "objectType" in agent:
        reduced["objectType"] = agent["objectType"]
    if agent.get("objectType") == "Group" and "member" in agent and not any(k in agent for k in IFI_KEYS):
        reduced["member"] = [_agent_ids(m) for m in agent["member"]]
    return reduced


def _activity_ids(activity: dict) -> dict:
    return {"id": activity["id"]}


def _ids_part(part: dict) -> None:
    part["actor"] = _agent_ids(part["actor"])
    part["verb"] = {"id": part["verb"]["id"]}
    obj = part["object"]
    object_type = obj.get("objectType", "Activity")
    if object_type == "Activity":
        part["object"] = _activity_ids(obj)
    elif object_type in ("Agent", "Group"):
        part["object"] = _agent_ids(obj)
    elif object_type == "SubStatement":
        _ids_part(obj)
    context = part.get("context")
    if context:
        for key in ("instructor", "team"):
            if key in context:
                context[key] = _agent_ids(context[key])
        activities = context.get("contextActivities") or {}
        for key, value in activities.items():
            activities[key] = [_activity_ids(a) for a in value] if isinstance(value, list) else _activity_ids(value)
    if "authority" in part:
        part["authority"] = _agent_ids(part["authority"])


def to_ids(statement: dict) -> dict:
    result = copy.deepcopy(statement)
    _ids_part(result)
    return result


def pick_language(language_map: dict, accepted: list[str]) -> dict:
    """One entry of a language map, the best for the client's Accept-Language."""
    if not language_map:
        return language_map
    lowered = {tag.lower(): tag for tag in language_map}
    for wanted in accepted:
        wanted = wanted.lower()
        if wanted == "*":
            break
        if wanted in lowered:
            tag = lowered[wanted]
            return {tag: language_map[tag]}
        for low, tag in lowered.items():
            if low.split("-")[0] == wanted.split("-")[0]:
                return {tag: language_map[tag]}
    tag = next(iter(language_map))
    return {tag: language_map[tag]}


def _canonical_activity(activity: dict, accepted: list[str]) -> None:
    definition = activity.get("definition")
    if not definition:
        return
    for key in ("name", "description"):
        if key in definition:
            definition[key] = pick_language(definition[key], accepted)
    for key in ("choices", "scale", "source", "target", "steps"):
        for component in definition.get(key, ()):
            if "description" in component:
                component["description"] = pick_language(component["description"], accepted)


def _canonical_part(part: dict, accepted: list[str]) -> None:
    if "display" in part["verb"]:
        part["verb"]["display"] = pick_language(part["verb"]["display"], accepted)
    obj = part["object"]
    object_type = obj.get("objectType", "Activity")
    if object_type == "Activity":
        _canonical_activity(obj, accepted)
    elif object_type == "SubStatement":
        _canonical_part(obj, accepted)
    for value in ((part.get("context") or {}).get("contextActivities") or {}).values():
        for activity in value if isinstance(value, list) else [value]:
            _canonical_activity(activity, accepted)
    for attachment in part.get("attachments", ()):
        for key in ("display", "description"):
            if key in attachment:
                attachment[key] = pick_language(attachment[key], accepted)


def to_canonical(statement: dict, accepted: list[str]) -> dict:
    result = copy.deepcopy(statement)
    _canonical_part(result, accepted)
    return result


def parse_accept_language(header: str | None) -> list[str]:
    if not header:
        return []
    weighted = []
    for index, item in enumerate(header.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if tag:
            weighted.append((-quality, index, tag.strip()))
    return [tag for _q, _i, tag in sorted(weighted)]
