# The course's JupyterLab, for docker-compose.yml's `lab` service (build context: the repository).
# The image holds the course's files and its own virtual environment, /course/.venv, made by
# `make install` at build time from requirements.lock: never the host's .venv, and no network
# needed when a container starts. `make lab` starts JupyterLab on 0.0.0.0:8888 as the user
# `learner`; the learner's notebooks are in /course/workspace (a named volume in compose).
#
# BASE_IMAGE: any Debian-based image with Python 3.11.5 or newer (requirements.lock pins need
# it) and its venv module, e.g. python:3.13-slim, or a local one where no registry can be
# reached (the tests use Debian 13's python3). make is installed when missing.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

# `make install` builds the virtual environment and `make lab` starts JupyterLab: slim images lack make.
RUN command -v make >/dev/null || { \
      apt-get update -qq \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make >/dev/null \
      && rm -rf /var/lib/apt/lists/*; }
RUN useradd --create-home --uid 1000 --shell /bin/bash learner

WORKDIR /course
# The pinned packages first, in a layer of their own: a change to the course reuses it.
COPY pyproject.toml requirements.lock ./
RUN python3 -m venv .venv \
    && PIP_NO_CACHE_DIR=1 .venv/bin/python -m pip install --quiet --upgrade pip \
    && PIP_NO_CACHE_DIR=1 .venv/bin/python -m pip install --quiet --requirement requirements.lock

COPY . .
# `make install` as on a learner's machine (an editable install of the course); compiled here
# because the learner cannot write to /course. The workspace folder is made the learner's, so
# that a new named volume mounted on it starts out as theirs.
RUN PIP_NO_CACHE_DIR=1 make install \
    && .venv/bin/python -m compileall -q src \
    && mkdir -p workspace && chown learner:learner workspace

# What `make lab` gives JupyterLab's terminals, for `docker compose exec lab asyncdb-lab …` too:
# the course's commands, its kernelspec (learner/lab_data) and the workspace. Terminals run bash.
ENV PATH=/course/.venv/bin:$PATH \
    ASYNCDB_LAB_WORKSPACE=/course/workspace \
    ASYNCDB_LAB_DRILL_HISTORY=/course/workspace/.asyncdb-lab/drill-history.json \
    JUPYTER_PATH=/course/src/asyncdb_lab/learner/lab_data \
    SHELL=/bin/bash

USER learner
EXPOSE 8888
# The token comes from JUPYTER_TOKEN (compose sets it); without it JupyterLab makes one and prints it.
CMD ["make", "lab", "LAB_ARGS=--ip=0.0.0.0 --port=8888 --no-browser"]
