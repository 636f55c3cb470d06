"""scripts/runner_image.sh: the runner image is built once per set of inputs."""

import subprocess
import time
from pathlib import Path

from tests.runs.conftest import docker_runner

ROOT = Path(__file__).resolve().parents[2]


def test_an_image_with_the_inputs_hash_is_not_built_again():
    docker_runner()  # an engine and a current image (scripts/test.sh made them)
    started = time.monotonic()
    done = subprocess.run(
        [str(ROOT / "scripts" / "runner_image.sh")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "is current" in done.stderr
    assert time.monotonic() - started < 5.0
