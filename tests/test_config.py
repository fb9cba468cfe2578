"""Settings precedence: flag > env > crawler.toml > pyproject [tool.crawler] > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.config import (
    DEFAULTS,
    OPTIONS,
    ConfigError,
    format_settings,
    load_settings,
)

REQUIRED = {"db", "cache_dir", "concurrency", "per_host", "delay", "user_agent", "ignore_robots",
            "max_retries", "retry_after_cap", "connect_timeout", "read_timeout",
            "total_timeout", "max_redirects", "max_bytes", "allow_private", "title_threshold",
            "dead_runs", "dead_days", "fail_on", "archive_endpoint"}


@pytest.fixture
def cwd(tmp_path):
    return tmp_path


def pyproject(cwd, body):
    (cwd / "pyproject.toml").write_text("[project]\nname = 'article'\n\n[tool.crawler]\n" + body)


def crawler_toml(cwd, body):
    (cwd / "crawler.toml").write_text(body)


def test_defaults_cover_the_issue_and_have_help():
    assert REQUIRED <= set(OPTIONS)
    for opt in DEFAULTS:
        assert opt.help and isinstance(opt.default, opt.type)
    s = load_settings({}, {}, cwd=Path("/nonexistent"))
    assert s.db == "crawler.db" and s.concurrency == 16 and s.per_host == 1
    assert s.delay == 1.0 and s.fail_on == "dead,title_changed" and s.ignore_robots is False
    assert s.source("delay") == "default"


def test_each_layer_beats_the_ones_below(cwd):
    pyproject(cwd, "delay = 2.0\nper_host = 2\nconcurrency = 4\nmax_retries = 5\n")
    crawler_toml(cwd, "delay = 3.0\nper_host = 3\nconcurrency = 6\n")
    env = {"CRAWLER_DELAY": "4", "CRAWLER_PER_HOST": "4"}
    s = load_settings({"delay": 5.0, "per_host": None}, env, cwd)
    assert (s.delay, s.source("delay")) == (5.0, "flag")
    assert (s.per_host, s.source("per_host")) == (4, "env")          # None flag = not given
    assert (s.concurrency, s.source("concurrency")) == (6, "crawler.toml")
    assert (s.max_retries, s.source("max_retries")) == (5, "pyproject.toml")
    assert (s.max_bytes, s.source("max_bytes")) == (5_000_000, "default")


def test_env_types_and_booleans(cwd):
    env = {"CRAWLER_IGNORE_ROBOTS": "yes", "CRAWLER_ALLOW_PRIVATE": "0",
           "CRAWLER_MAX_BYTES": "1000", "CRAWLER_FAIL_ON": "not_found,gone,new",
           "CRAWLER_SOMETHING_ELSE": "ignored"}
    s = load_settings({}, env, cwd)
    assert s.ignore_robots is True and s.allow_private is False and s.max_bytes == 1000
    assert s.fail_on == "not_found,gone,new" and "something_else" not in s


def test_kebab_keys_in_toml(cwd):
    pyproject(cwd, 'per-host = 2\nfail-on = "dead"\n')
    s = load_settings({}, {}, cwd)
    assert s.per_host == 2 and s.fail_on == "dead" and s.source("fail_on") == "pyproject.toml"


@pytest.mark.parametrize("env,message", [
    ({"CRAWLER_DELAY": "fast"}, "delay from CRAWLER_DELAY: expected float, got 'fast'"),
    ({"CRAWLER_CONCURRENCY": "0"}, "concurrency from CRAWLER_CONCURRENCY: must be >= 1"),
    ({"CRAWLER_IGNORE_ROBOTS": "maybe"}, "ignore_robots from CRAWLER_IGNORE_ROBOTS: expected bool"),
    ({"CRAWLER_FAIL_ON": "dead,typo"}, "fail_on from CRAWLER_FAIL_ON: unknown --fail-on token 'typo'"),
])
def test_env_errors_name_key_and_source(cwd, env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_settings({}, env, cwd)


def test_toml_errors_name_key_and_file(cwd):
    crawler_toml(cwd, "delay = true\n")
    with pytest.raises(ConfigError, match="delay from crawler.toml: expected float"):
        load_settings({}, {}, cwd)
    crawler_toml(cwd, "per_host = 1.5\n")
    with pytest.raises(ConfigError, match="per_host from crawler.toml: expected int"):
        load_settings({}, {}, cwd)


def test_flag_errors_name_the_flag(cwd):
    with pytest.raises(ConfigError, match="title_threshold from --title-threshold: must be between"):
        load_settings({"title_threshold": 140}, {}, cwd)


def test_unknown_key_suggests_the_right_one(cwd):
    pyproject(cwd, "dealy = 3\n")
    with pytest.raises(ConfigError, match="unknown setting 'dealy' in pyproject.toml.*'delay'"):
        load_settings({}, {}, cwd)


def test_broken_toml_is_named(cwd):
    crawler_toml(cwd, "delay = = 3\n")
    with pytest.raises(ConfigError, match="crawler.toml: not valid TOML"):
        load_settings({}, {}, cwd)


def test_pyproject_without_table_is_fine(cwd):
    (cwd / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert load_settings({}, {}, cwd).source("db") == "default"


def test_int_accepted_for_float(cwd):
    crawler_toml(cwd, "delay = 2\n")
    assert load_settings({}, {}, cwd).delay == 2.0


def test_format_settings_lists_every_setting_with_its_source(cwd):
    crawler_toml(cwd, "delay = 3.0\n")
    text = format_settings(load_settings({"db": "x.db"}, {"CRAWLER_PER_HOST": "2"}, cwd))
    lines = text.splitlines()
    assert len(lines) == len(DEFAULTS)
    assert any(line.startswith("db ") and line.endswith("(flag)") for line in lines)
    assert any(line.startswith("per_host ") and line.endswith("(env)") for line in lines)
    assert any(line.startswith("delay ") and line.endswith("(crawler.toml)") for line in lines)
    assert any("ignore_robots" in line and "false" in line for line in lines)


def test_empty_env_variable_counts_as_unset(cwd):
    crawler_toml(cwd, 'fail_on = "dead"\n')
    s = load_settings({}, {"CRAWLER_FAIL_ON": "", "CRAWLER_DELAY": " "}, cwd)
    assert (s.fail_on, s.source("fail_on")) == ("dead", "crawler.toml")
    assert s.source("delay") == "default"
