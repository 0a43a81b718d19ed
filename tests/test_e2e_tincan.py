"""End to end: tincan's RemoteLRS, the reference Python xAPI client, against ``fse-fad serve``."""
from __future__ import annotations

import uuid

import pytest
from tincan import (Activity, ActivityDefinition, Agent, AgentAccount, Context, LanguageMap, RemoteLRS, Result,
                    Score, StateDocument, Statement, Verb)

from tests.conftest import _empty_tables
from tests.server import ServerProcess
from fse_fad.db import make_engine

pytestmark = pytest.mark.slow


@pytest.fixture
def server(database_url, tmp_path):
    engine = make_engine(database_url)
    _empty_tables(engine)
    engine.dispose()
    process = ServerProcess(database_url, tmp_path)
    yield process
    process.stop()


def learner(user_id: int) -> Agent:
    return Agent(name=f"Operatore {user_id}",
                 account=AgentAccount(home_page="https://fad.example.toscana.it", name=str(user_id)))


def module_statement(user_id: int, verb: str, registration: str, raw: float | None = None) -> Statement:
    result = None
    if raw is not None:
        result = Result(score=Score(raw=raw, min=0, max=100, scaled=raw / 100), success=raw >= 75, completion=True)
    return Statement(
        actor=learner(user_id),
        verb=Verb(id=f"http://adlnet.gov/expapi/verbs/{verb}", display=LanguageMap({"it": verb})),
        object=Activity(id="https://formazione.example.toscana.it/xapi/fad-fse/modules/01/base",
                        definition=ActivityDefinition(name=LanguageMap({"it": "Modulo 1 – base"}))),
        context=Context(registration=registration, platform="fse-fad content", language="it"),
        result=result,
    )


def test_remote_lrs_round_trip(server):
    key, secret = server.create_client("tincan", "--scope", "all")
    lrs = RemoteLRS(endpoint=f"{server.url}/xapi/", version="1.0.3", username=key, password=secret)

    about = lrs.about()
    assert about.success and "1.0.3" in about.content.version

    registration = str(uuid.uuid4())
    batch = [module_statement(1, "initialized", registration), module_statement(1, "completed", registration),
             module_statement(1, "passed", registration, raw=80), module_statement(2, "initialized", str(uuid.uuid4()))]
    saved = lrs.save_statements(batch)
    assert saved.success, saved.data
    ids = [str(s.id) for s in saved.content]
    assert len(ids) == 4

    single = lrs.retrieve_statement(ids[2])
    assert single.success and single.content.result.score.raw == 80

    query = {"agent": learner(1), "registration": registration, "limit": 2}
    page = lrs.query_statements(query)
    assert page.success
    found = [str(s.id) for s in page.content.statements]
    assert len(found) == 2 and page.content.more
    more = lrs.more_statements(page.content)
    assert more.success
    found += [str(s.id) for s in more.content.statements]
    assert sorted(found) == sorted(ids[:3])

    state = StateDocument(activity=Activity(id="https://formazione.example.toscana.it/xapi/fad-fse"),
                          agent=learner(1), id="https://formazione.example.toscana.it/xapi/state/bookmark",
                          content='{"pagina": 4}', content_type="application/json")
    assert lrs.save_state(state).success
    fetched = lrs.retrieve_state(state.activity, state.agent, state.id)
    assert fetched.success and bytes(fetched.content.content) == b'{"pagina": 4}'


def test_remote_lrs_with_wrong_secret_is_refused(server):
    key, _secret = server.create_client("tincan", "--scope", "all")
    lrs = RemoteLRS(endpoint=f"{server.url}/xapi/", version="1.0.3", username=key, password="wrong")
    response = lrs.save_statement(module_statement(1, "initialized", str(uuid.uuid4())))
    assert not response.success and response.response.status == 401
