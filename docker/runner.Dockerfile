# The image the docker sandbox backend runs tool code in (settings.SANDBOX_DOCKER_IMAGE).
# Build from the repository root:
#   docker build -f docker/runner.Dockerfile -t skriptoteket-runner:latest .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The same libraries the bubblewrap backend's runner venv has (scripts/sandbox.sh).
COPY requirements/runner.txt /tmp/runner.txt
RUN python -m venv /opt/runner-venv \
    && /opt/runner-venv/bin/pip install -r /tmp/runner.txt \
    && rm /tmp/runner.txt \
    && chmod -R a+rX /opt/runner-venv

# A non-root user with a fixed uid: the backend starts containers as 10001:10001 and copies
# the run folder in owned by it. /work is the mount point of each run's fresh volume; a new
# volume takes this folder's owner and mode.
RUN groupadd --gid 10001 runner \
    && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin runner \
    && mkdir /work \
    && chown 10001:10001 /work \
    && chmod 0700 /work

COPY apps/runs/runner/files /runner
RUN find /runner -type d -exec chmod 0755 {} + \
    && find /runner -type f -exec chmod 0644 {} +

USER 10001:10001
WORKDIR /work
# No shell: the backend passes the command itself, and no-new-privileges stays on.
CMD ["/opt/runner-venv/bin/python", "-I", "/runner/_runner.py"]
