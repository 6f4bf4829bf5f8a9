"""Configuration fails fast with a message naming the setting."""
import pytest

from app.config import ConfigError, load_config


def env(tmp_path, **kw):
    return {"BAOCAO_INSTANCE": str(tmp_path), **kw}


def test_defaults_to_sqlite_in_the_instance_folder_and_vietnam_time(tmp_path):
    cfg = load_config(env(tmp_path))
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'baocao.sqlite'}"
    assert cfg["TIMEZONE"] == "Asia/Ho_Chi_Minh" and cfg["BABEL_DEFAULT_LOCALE"] == "vi"
    assert cfg["MAX_CONTENT_LENGTH"] == 10 * 1024 * 1024


def test_postgresql_url_gets_the_psycopg_driver(tmp_path):
    cfg = load_config(env(tmp_path, DATABASE_URL="postgresql://u@h/db"))
    assert cfg["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("name, value, words", [
    ("DATABASE_URL", "mysql://x@y/z", "DATABASE_URL"),
    ("BAOCAO_TIMEZONE", "Mars/Olympus", "BAOCAO_TIMEZONE"),
    ("MAX_UPLOAD_MB", "ten", "MAX_UPLOAD_MB"),
    ("MAX_UPLOAD_MB", "0", "MAX_UPLOAD_MB"),
    ("SECRET_KEY", "short", "SECRET_KEY"),
    ("BAOCAO_LOCALE", "fr", "BAOCAO_LOCALE"),
    ("SESSION_COOKIE_SECURE", "maybe", "SESSION_COOKIE_SECURE"),
])
def test_bad_settings_are_refused_by_name(tmp_path, name, value, words):
    with pytest.raises(ConfigError, match=words):
        load_config(env(tmp_path, **{name: value}))


def test_production_requires_a_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config(env(tmp_path, BAOCAO_ENV="production"))


def test_start_up_with_a_bad_setting_prints_one_clear_line(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=root, capture_output=True, text=True,
                            env={"BAOCAO_INSTANCE": str(tmp_path), "DATABASE_URL": "mysql://x@y/z", "PATH": ""})
    assert result.returncode == 2
    assert "configuration error: DATABASE_URL" in result.stderr and "Traceback" not in result.stderr
