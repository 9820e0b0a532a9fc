"""The course's nbgrader folders and gradebook, read from its nbgrader_config.py.

Reading the configuration needs traitlets only, so the grade command itself stays light; the
workers import nbgrader.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from asyncdb_lab.course.notebook import cell_points, nbgrader_meta

# Seconds a worker waits for another to finish writing to an SQLite gradebook.
SQLITE_BUSY_SECONDS = 120


@dataclass(frozen=True)
class CourseFiles:
    config_file: Path
    root: Path
    source: Path  # solutions/
    release: Path  # notebooks/: what learners were given
    submitted: Path  # grader/submitted
    autograded: Path
    db_url: str
    course_id: str

    @classmethod
    def read(cls, config_file: Path) -> CourseFiles:
        from traitlets.config.loader import PyFileConfigLoader

        config_file = config_file.resolve()
        loaded = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
        course = loaded.CourseDirectory
        root = Path(course.get("root", os.getcwd())).resolve()
        return cls(
            config_file=config_file,
            root=root,
            source=root / course.get("source_directory", "source"),
            release=root / course.get("release_directory", "release"),
            submitted=root / course.get("submitted_directory", "submitted"),
            autograded=root / course.get("autograded_directory", "autograded"),
            db_url=course.get("db_url", f"sqlite:///{root / 'gradebook.db'}"),
            course_id=course.get("course_id", ""),
        )

    @property
    def grader_dir(self) -> Path:
        return self.config_file.parent

    def source_notebook(self, notebook: str) -> Path:
        return self.source / notebook / f"{notebook}.ipynb"

    def release_notebook(self, notebook: str) -> Path:
        return self.release / notebook / f"{notebook}.ipynb"

    def submitted_notebook(self, student: str, notebook: str) -> Path:
        return self.submitted / student / notebook / f"{notebook}.ipynb"

    def source_digest(self, notebook: str) -> str:
        return hashlib.sha256(self.source_notebook(notebook).read_bytes()).hexdigest()

    def max_points(self, notebook: str) -> float:
        cells = json.loads(self.source_notebook(notebook).read_text())["cells"]
        return float(sum(cell_points(c) for c in cells if nbgrader_meta(c).get("grade")))


def check_gradebook(db_url: str, course_id: str) -> None:
    """Refuse a gradebook nbgrader cannot write, with what to change."""
    from asyncdb_lab.errors import AsyncDbLabError

    if make_url(db_url).get_backend_name() != "sqlite" and not course_id.strip():
        raise AsyncDbLabError(
            "a gradebook other than SQLite needs a course id, or nbgrader's first write fails "
            "on a foreign key (SQLite does not enforce it): set "
            "c.CourseDirectory.course_id = 'your-course' in the nbgrader configuration"
        )


def concurrent_gradebook_url(db_url: str) -> str:
    """The gradebook URL for several writers. SQLite: write-ahead log, writers wait their turn."""
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return db_url
    path = Path(url.database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    return url.update_query_dict({"timeout": str(SQLITE_BUSY_SECONDS)}).render_as_string(
        hide_password=False
    )


def graded_in_gradebook(db_url: str) -> set[tuple[str, str]]:
    """(student, notebook) pairs that have a submission in the gradebook."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(db_url)
    try:
        if "submitted_assignment" not in inspect(engine).get_table_names():
            return set()
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.student_id, a.name FROM submitted_assignment s "
                    "JOIN assignment a ON s.assignment_id = a.id"
                )
            ).all()
    finally:
        engine.dispose()
    return {(student, notebook) for student, notebook in rows}
