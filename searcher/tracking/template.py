"""A fresh SQLite store copied from an empty schema built once per MLflow version.

MLflow makes a new store by running its ~65 alembic migrations, about 1.3 s on a small VM, and
every `searcher run` against a new file paid that. The schema depends only on the MLflow
release, so it is built once into a per-user cache and each new store is a file copy (a few
milliseconds). The template holds no Default experiment: MLflow adds it when it first opens
the copy, with the artifact location it would have given a store it made itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from filelock import FileLock

TEMPLATE_DIR = Path("~/.cache/searcher/store-templates")


def template_path() -> Path:
    """Where the empty schema of the installed MLflow is kept (the version names it)."""
    from mlflow.version import VERSION

    return TEMPLATE_DIR.expanduser() / f"mlflow-{VERSION}.db"


def build_template(path: Path) -> None:
    """Let MLflow make its schema in a scratch file, drop the Default experiment, publish it."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        db = Path(scratch) / "template.db"
        store = SqlAlchemyStore(f"sqlite:///{db}", Path(scratch).as_uri())
        store.engine.dispose()
        with contextlib.closing(sqlite3.connect(db)) as conn:
            with conn:
                conn.execute("DELETE FROM experiments WHERE experiment_id = 0")
            conn.execute("VACUUM")
        os.replace(db, path)


def copy_template(db: Path) -> bool:
    """Make ``db`` (absent or empty) an empty MLflow store by copying the template.

    Returns False when no template can be had (an unwritable cache): MLflow then makes the
    schema itself, as slowly as before. The copy lands under a temporary name first, so a
    crash never leaves a half-copied store behind.
    """
    try:
        template = template_path()
        if not template.exists():
            with FileLock(str(template.with_suffix(".lock")), timeout=120):
                if not template.exists():
                    build_template(template)
    except OSError:
        return False
    partial = db.with_name(f".{db.name}.partial")
    shutil.copyfile(template, partial)
    os.replace(partial, db)
    return True


def needs_schema(db: Path) -> bool:
    """A file that does not exist yet (or is empty) gets the template; anything else is
    left to MLflow, which upgrades or rejects it."""
    try:
        return db.stat().st_size == 0
    except FileNotFoundError:
        return True
