# The image the docker sandbox backend runs tool code in (settings.SANDBOX_DOCKER_IMAGE).
# Build from the repository root:
#   docker build -f docker/runner.Dockerfile -t skriptoteket-runner:latest .
# BASE_IMAGE is any image with Python 3.11 as `python3` and its venv module: the official one
# by default, or the Debian base scripts/runner_image.sh builds offline (docker/runner-base.sh).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The same libraries the bubblewrap backend's runner venv has (scripts/sandbox.sh), from PyPI;
# or from the wheels scripts/runner_image.sh downloaded on the host into docker/runner-wheels/
# (a host whose HTTPS goes through a proxy with its own CA: the build cannot verify PyPI).
COPY requirements/runner.txt docker/runner-wheel[s] /tmp/runner/
RUN python3 -m venv /opt/runner-venv \
    && if ls /tmp/runner/*.whl >/dev/null 2>&1; \
       then /opt/runner-venv/bin/pip install -q --no-index --find-links /tmp/runner -r /tmp/runner/runner.txt; \
       else /opt/runner-venv/bin/pip install -q -r /tmp/runner/runner.txt; fi \
    && rm -r /tmp/runner \
    && chmod -R a+rX /opt/runner-venv

# A non-root user with a fixed uid: a root worker starts containers as 10001:10001 and hands
# the run folder, bind-mounted at /work, to that uid for the run. Nobody logs in: no password
# files, no root home (a tool sees the same absences as under bwrap).
RUN groupadd --gid 10001 runner \
    && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin runner \
    && mkdir /work \
    && chmod 0755 /work \
    && rm -rf /root /etc/shadow /etc/shadow- /etc/gshadow /etc/gshadow-

COPY apps/runs/runner/files /runner
RUN find /runner -type d -exec chmod 0755 {} + \
    && find /runner -type f -exec chmod 0644 {} +

USER 10001:10001
WORKDIR /work
# No shell: the backend passes the command itself, and no-new-privileges stays on.
CMD ["/opt/runner-venv/bin/python", "-I", "/runner/_runner.py"]
