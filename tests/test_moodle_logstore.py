"""What Moodle's logstore_xapi plugin sends is accepted as one batch with a 200.

The plugin's expected statements (shared fixtures, GPL test data) are merged with its common
statement exactly as the plugin's own test harness does, and posted the way the plugin posts.
"""
from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "moodle_logstore_xapi"


def deep_merge(base: dict, extra: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def plugin_batch() -> list[dict]:
    if not FIXTURES.is_dir():
        pytest.fail(f"the shared Moodle fixtures are missing: {FIXTURES}")
    common = json.loads((FIXTURES / "_common_statement.json").read_text())
    common = deep_merge(common, {"context": {"registration": str(uuid.uuid5(uuid.NAMESPACE_URL, "sesskey")),
                                             "platform": "Moodle"}, "timestamp": "2026-10-05T09:30:00+02:00"})
    batch = []
    for path in sorted(FIXTURES.glob("*.json")):
        if path.name.startswith("_"):
            continue
        for item in json.loads(path.read_text()):
            batch.append(deep_merge(common, item))
    return batch


def test_the_plugins_statements_are_accepted_as_one_batch(http, xapi):
    batch = plugin_batch()
    assert len(batch) >= 8 and all("id" not in s for s in batch)
    response = http.post("/xapi/statements", headers=xapi, data=json.dumps(batch), content_type="application/json")
    assert response.status_code == 200, response.get_json()
    ids = response.get_json()
    assert len(ids) == len(batch)
    listed = http.get(f"/xapi/statements?limit={len(batch)}", headers=xapi).get_json()["statements"]
    assert {s["id"] for s in listed} == set(ids)
