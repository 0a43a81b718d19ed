"""How the LRS names agents, activities and documents in its indexes.

Agents are compared by their inverse functional identifier, as the specification says; long
values are replaced by their SHA-256 so that every index key fits a B-tree entry.
"""
from __future__ import annotations

import hashlib
from typing import Iterable, Iterator

MAX_KEY_VALUE = 200


def compact(value: str) -> str:
    if len(value) <= MAX_KEY_VALUE:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def agent_key(agent: dict) -> str | None:
    """The identity of an Agent or identified Group; None for an anonymous Group."""
    if "mbox" in agent:
        return compact("mbox:" + agent["mbox"])
    if "mbox_sha1sum" in agent:
        return compact("sha1:" + agent["mbox_sha1sum"].lower())
    if "openid" in agent:
        return compact("openid:" + agent["openid"])
    if "account" in agent:
        account = agent["account"]
        return compact(f"account:{account['homePage']}|{account['name']}")
    return None


def _actors_with_members(agent: dict | None) -> Iterator[dict]:
    if not isinstance(agent, dict):
        return
    yield agent
    for member in agent.get("member") or ():
        yield member


def _context_activity_ids(context: dict) -> Iterator[str]:
    for value in (context.get("contextActivities") or {}).values():
        for activity in value if isinstance(value, list) else [value]:
            yield activity["id"]


def _related(statement: dict) -> tuple[set[str], set[str]]:
    """Agents and activities anywhere in a statement or its SubStatement."""
    agents: set[str] = set()
    activities: set[str] = set()
    parts = [statement]
    if statement["object"].get("objectType") == "SubStatement":
        parts.append(statement["object"])
    for part in parts:
        context = part.get("context") or {}
        for holder in (part["actor"], context.get("instructor"), context.get("team"), part.get("authority")):
            for agent in _actors_with_members(holder):
                key = agent_key(agent)
                if key:
                    agents.add(key)
        obj = part["object"]
        object_type = obj.get("objectType", "Activity")
        if object_type == "Activity":
            activities.add(obj["id"])
        elif object_type in ("Agent", "Group"):
            for agent in _actors_with_members(obj):
                key = agent_key(agent)
                if key:
                    agents.add(key)
        activities.update(_context_activity_ids(context))
    return agents, activities


def filter_keys(statement: dict) -> set[str]:
    """The keys under which a statement is found by the filters of GET statements.

    Prefixes: ``v`` verb, ``a`` actor or object agent, ``A`` related agent, ``o`` object
    activity, ``O`` related activity, ``r`` registration.
    """
    keys = {"v:" + compact(statement["verb"]["id"])}
    actor_key = agent_key(statement["actor"])
    if actor_key:
        keys.add("a:" + actor_key)
    obj = statement["object"]
    object_type = obj.get("objectType", "Activity")
    if object_type in ("Agent", "Group"):
        object_agent = agent_key(obj)
        if object_agent:
            keys.add("a:" + object_agent)
    elif object_type == "Activity":
        keys.add("o:" + compact(obj["id"]))
    agents, activities = _related(statement)
    keys.update("A:" + key for key in agents)
    keys.update("O:" + compact(iri) for iri in activities)
    registration = (statement.get("context") or {}).get("registration")
    if registration:
        keys.add("r:" + registration.lower())
    return keys


def agent_filter_key(agent: dict, related: bool) -> str:
    return ("A:" if related else "a:") + (agent_key(agent) or "")


def activity_filter_key(iri: str, related: bool) -> str:
    return ("O:" if related else "o:") + compact(iri)


def verb_filter_key(iri: str) -> str:
    return "v:" + compact(iri)


def registration_filter_key(registration: str) -> str:
    return "r:" + registration.lower()


def activities_with_definitions(statement: dict) -> Iterable[dict]:
    """Activities carrying a definition, for the canonical definitions of GET activities."""
    parts = [statement]
    if statement["object"].get("objectType") == "SubStatement":
        parts.append(statement["object"])
    for part in parts:
        obj = part["object"]
        if obj.get("objectType", "Activity") == "Activity":
            yield obj
        for value in ((part.get("context") or {}).get("contextActivities") or {}).values():
            yield from (value if isinstance(value, list) else [value])
