"""Production settings plus the benchmark-only URLs (the bare reference view)."""

from skriptoteket.settings import *  # noqa: F403 - the benchmark must run the real settings

ROOT_URLCONF = "bench.urls"
