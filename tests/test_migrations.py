"""The Alembic migrations build exactly the schema the models describe, on both databases."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.dialects import postgresql

from courses.catalogue import default_catalogue
from fse_fad.db import alembic_config, create_scratch_database, upgrade
from fse_fad.metadata import target_metadata
from tests.conftest import POSTGRES_ADMIN_URL

FAD = default_catalogue().fad_course


def test_migrations_and_models_agree(database_url):
    engine = create_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, target_metadata)
        heads = set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
        assert set(context.get_current_heads()) == heads
    engine.dispose()
    assert differences == []


def test_single_head():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database_url(request, tmp_path):
    """An empty database of each kind, for migrating step by step."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    url, drop = create_scratch_database(POSTGRES_ADMIN_URL, "fse_fad_test")
    yield url
    drop()


def test_0007_gives_the_assessments_already_recorded_their_objective_rows(fresh_database_url):
    upgrade(fresh_database_url, "0005")
    json_type = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    learners = sa.table("courses_learners", *(sa.column(n) for n in (
        "id", "trust_code", "category_code", "cluster", "ecm_eligible", "active", "created_at", "updated_at")),
        sa.column("disciplines", json_type))
    assessments = sa.table("courses_assessments", *(sa.column(n) for n in (
        "id", "learner_id", "course_code", "cluster", "completed_at")),
        sa.column("scores", json_type), sa.column("levels", json_type))
    now = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
    engine = create_engine(fresh_database_url)
    with engine.begin() as conn:
        conn.execute(learners.insert(), [{"id": n, "trust_code": "USL-TC", "category_code": "1.i", "cluster": 1,
                                          "disciplines": [], "ecm_eligible": False, "active": True,
                                          "created_at": now, "updated_at": now} for n in (1, 2)])
        conn.execute(assessments.insert(), [
            {"id": 10, "learner_id": 1, "course_code": FAD.code, "cluster": 1, "completed_at": now,
             "scores": {"accesso": 90, "integrazione": 35.5, "personalizzazione": 0, "policy": 70},
             "levels": {"m01": "avanzato", "m02": "base", "m03": "base", "m04": "avanzato", "m05": "intermedio",
                        "m06": "base", "m07": "intermedio", "m08": "base"}},
            # Scored on one objective only (an older record): the others have no row.
            {"id": 11, "learner_id": 2, "course_code": FAD.code, "cluster": 2, "completed_at": now,
             "scores": {"policy": 12}, "levels": {"m07": "base"}}])
    upgrade(fresh_database_url)
    with engine.connect() as conn:
        found = conn.execute(sa.text(
            "SELECT assessment_id, objective, learner_id, course_code, cluster, score, level "
            "FROM courses_assessment_objectives ORDER BY assessment_id, objective")).all()
    engine.dispose()
    # The level of an objective is its first module's.
    assert [tuple(r) for r in found] == [
        (10, "accesso", 1, FAD.code, 1, 90.0, "avanzato"),
        (10, "integrazione", 1, FAD.code, 1, 35.5, "base"),
        (10, "personalizzazione", 1, FAD.code, 1, 0.0, "intermedio"),
        (10, "policy", 1, FAD.code, 1, 70.0, "intermedio"),
        (11, "policy", 2, FAD.code, 2, 12.0, "base")]


def test_0008_counts_the_module_rows_already_stored(fresh_database_url):
    upgrade(fresh_database_url, "0007")
    learners = sa.table("courses_learners", *(sa.column(n) for n in (
        "id", "trust_code", "category_code", "cluster", "ecm_eligible", "active", "created_at", "updated_at")),
        sa.column("disciplines", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")))
    progress = sa.table("courses_learner_progress", *(sa.column(n) for n in (
        "learner_id", "course_code", "status", "assessment_completed_at", "modules_completed", "test_attempts",
        "hours_attended")))
    modules = sa.table("courses_module_progress", *(sa.column(n) for n in (
        "learner_id", "course_code", "module_number", "module_code", "level", "launched_at", "completed_at",
        "seconds")))
    now = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
    late = datetime(2026, 11, 2, 23, 30, tzinfo=timezone.utc)  # 3 November in Italy
    engine = create_engine(fresh_database_url)
    with engine.begin() as conn:
        conn.execute(learners.insert(), [{"id": n, "trust_code": trust, "category_code": "1.i", "cluster": 1,
                                          "disciplines": [], "ecm_eligible": False, "active": True,
                                          "created_at": now, "updated_at": now}
                                         for n, trust in ((1, "USL-TC"), (2, "USL-TC"), (3, "AOU-CAREGGI"))])
        conn.execute(progress.insert(), [
            {"learner_id": n, "course_code": FAD.code, "status": "in_progress", "assessment_completed_at": at,
             "modules_completed": 0, "test_attempts": 0, "hours_attended": 0.0}
            for n, at in ((1, now), (2, None), (3, now))])
        conn.execute(modules.insert(), [
            {"learner_id": n, "course_code": FAD.code, "module_number": 1, "module_code": "m01", "level": level,
             "launched_at": now, "completed_at": done, "seconds": 60.0}
            for n, level, done in ((1, "base", late), (2, "base", late), (3, None, None))])
        conn.execute(sa.table("courses_assessments", *(sa.column(n) for n in (
            "id", "learner_id", "course_code", "cluster", "completed_at")),
            sa.column("scores", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
            sa.column("levels", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"))).insert(), [
            {"id": n, "learner_id": n, "course_code": FAD.code, "cluster": 1, "completed_at": now,
             "scores": {"policy": 60.0}, "levels": {}} for n in (1, 3)])
        conn.execute(sa.table("courses_assessment_objectives", *(sa.column(n) for n in (
            "assessment_id", "objective", "learner_id", "course_code", "cluster", "score", "level"))).insert(), [
            {"assessment_id": n, "objective": "policy", "learner_id": n, "course_code": FAD.code, "cluster": 1,
             "score": 60.0, "level": level} for n, level in ((1, "base"), (3, None))])
    upgrade(fresh_database_url)
    with engine.connect() as conn:
        found = conn.execute(sa.text(
            "SELECT course_code, trust_code, module_code, level, completed_day, launched, assessed "
            "FROM courses_module_counts ORDER BY trust_code")).all()
        objectives = conn.execute(sa.text(
            "SELECT course_code, trust_code, cluster, objective, level, score, assessed "
            "FROM courses_objective_counts ORDER BY trust_code")).all()
    engine.dispose()
    assert [tuple(r) for r in objectives] == [(FAD.code, "AOU-CAREGGI", 1, "policy", "", 60.0, 1),
                                             (FAD.code, "USL-TC", 1, "policy", "base", 60.0, 1)]
    assert [tuple(r) for r in found] == [
        (FAD.code, "AOU-CAREGGI", "m01", "", 0, 1, 1),
        (FAD.code, "USL-TC", "m01", "base", date(2026, 11, 3).toordinal(), 2, 1)]
