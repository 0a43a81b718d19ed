"""``fse-fad progress rebuild`` recomputes learner progress from the stored statements, agrees with
what was kept incrementally, and says so in Italian."""
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from courses.models import LearnerProgress, ModuleProgress, ProgressFact
from fse_fad.db import session_scope
from fse_fad.cli import main
from tests.test_progress_rules import full_course
from tests.test_progress_tracking import as_learner, config, import_learners, post  # noqa: F401  (config: fixture)


@pytest.fixture
def cli(app, config, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FSE_FAD_DATABASE_URL", config.database_url)
    monkeypatch.setenv("FSE_FAD_SECRET_KEY", config.secret_key)
    monkeypatch.setenv("FSE_FAD_MOODLE_MAPPING", config.moodle_mapping)
    monkeypatch.setenv("FSE_FAD_LANG", "it")
    runner = CliRunner()
    return lambda *args: runner.invoke(main, list(args))


def progress_rows(session_factory):
    with session_scope(session_factory) as session:
        learners = [tuple(getattr(r, c) for c in LearnerProgress.__table__.columns.keys())
                    for r in session.scalars(select(LearnerProgress).order_by(LearnerProgress.learner_id))]
        modules = [tuple(getattr(r, c) for c in ModuleProgress.__table__.columns.keys())
                   for r in session.scalars(select(ModuleProgress).order_by(ModuleProgress.learner_id,
                                                                            ModuleProgress.module_number))]
        return learners, modules


def test_progress_rebuild_restores_what_was_kept_incrementally(cli, http, xapi, session_factory):
    import_learners(session_factory, 1, 2)
    post(http, xapi, as_learner(full_course(), 1))
    post(http, xapi, as_learner(full_course(test_raws=(10, 90)), 2)[:40])
    post(http, xapi, as_learner(full_course(), 3))  # no such learner
    kept = progress_rows(session_factory)
    assert len(kept[0]) == 2 and len(kept[1]) == 14  # learner 2 launched 6 modules
    with session_scope(session_factory) as session:  # progress gone astray
        session.execute(delete(ModuleProgress))
        session.execute(update(LearnerProgress).values(status="not_started", completed_at=None))
        session.execute(delete(ProgressFact).where(ProgressFact.learner_id.is_(None)))
    result = cli("progress", "rebuild")
    assert result.exit_code == 0, result.output
    assert "Avanzamento ricalcolato:" in result.output and "2 discenti con avanzamento" in result.output
    assert "1 agenti senza discente corrispondente" in result.output
    assert progress_rows(session_factory) == kept
    counts = json.loads(cli("progress", "rebuild", "--json").stdout)
    assert counts["learners"] == 2 and counts["unmatched_agents"] == 1 and counts["facts"] > 60
    assert progress_rows(session_factory) == kept
