import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env(**overrides):
    # Only what a production host sets: no test-process variables such as DJANGO_ALLOW_ASYNC_UNSAFE.
    env = {
        key: os.environ[key] for key in ("PATH", "DATABASE_URL", "REDIS_URL") if key in os.environ
    }
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="skriptoteket.example.org",
        CSRF_TRUSTED_ORIGINS="https://skriptoteket.example.org",
    )
    env.update(overrides)
    return env


def test_deploy_checks_pass_with_production_like_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr


def test_deploy_checks_fail_when_https_hardening_is_off():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING", env=production_env(HTTPS="false")
    )
    assert result.returncode != 0
    assert "security.W008" in result.stderr + result.stdout


def test_a_missing_secret_key_is_a_configuration_error_unless_debug():
    env = production_env()
    del env["SECRET_KEY"]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr
    assert run_manage("check", env={**env, "DEBUG": "true"}).returncode == 0


def test_a_non_boolean_debug_value_is_refused():
    result = run_manage("check", env=production_env(DEBUG="maybe"))
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr


def test_run_files_settings_refuse_an_unknown_backend_a_bucketless_s3_and_a_filesystem_redirect():
    cases = [
        ({"RUN_FILES_BACKEND": "ftp"}, "RUN_FILES_BACKEND must be filesystem or s3"),
        ({"RUN_FILES_BACKEND": "s3"}, "RUN_FILES_S3_BUCKET is required"),
        ({"RUN_FILES_DOWNLOADS": "redirect"}, "RUN_FILES_DOWNLOADS must be stream, or redirect"),
    ]
    for overrides, message in cases:
        result = run_manage("check", env=production_env(**overrides))
        assert result.returncode != 0, overrides
        assert message in result.stderr, result.stderr
    s3 = production_env(
        RUN_FILES_BACKEND="s3", RUN_FILES_S3_BUCKET="runs", RUN_FILES_DOWNLOADS="redirect"
    )
    assert run_manage("check", env=s3).returncode == 0
