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
    assert s.delay == 1.0 and s.fail_on == "dead,title_changed,invalid_url" and s.ignore_robots is False
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
           "CRAWLER_MAX_BYTES": "2000", "CRAWLER_FAIL_ON": "not_found,gone,new",
           "CRAWLER_SOMETHING_ELSE": "ignored"}
    s = load_settings({}, env, cwd)
    assert s.ignore_robots is True and s.allow_private is False and s.max_bytes == 2000
    assert s.fail_on == "not_found,gone,new" and "something_else" not in s


def test_kebab_keys_in_toml(cwd):
    pyproject(cwd, 'per-host = 2\nfail-on = "dead"\n')
    s = load_settings({}, {}, cwd)
    assert s.per_host == 2 and s.fail_on == "dead" and s.source("fail_on") == "pyproject.toml"


@pytest.mark.parametrize("env,message", [
    ({"CRAWLER_DELAY": "fast"}, "delay from CRAWLER_DELAY: expected float, got 'fast'"),
    ({"CRAWLER_CONCURRENCY": "0"}, "concurrency from CRAWLER_CONCURRENCY: must be >= 1"),
    ({"CRAWLER_IGNORE_ROBOTS": "maybe"}, "ignore_robots from CRAWLER_IGNORE_ROBOTS: expected bool"),
    ({"CRAWLER_FAIL_ON": "dead,typo"}, "fail_on from CRAWLER_FAIL_ON: unknown token 'typo'"),
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


# --- values that parse but would hang or blind a run ---

@pytest.mark.parametrize("key", ["delay", "retry_after_cap", "connect_timeout", "read_timeout",
                                 "total_timeout", "dead_days", "title_threshold"])
@pytest.mark.parametrize("raw", ["inf", "-inf", "nan", "Infinity", "1e400"])
def test_every_float_must_be_finite(cwd, key, raw):
    env_key = "CRAWLER_" + key.upper()
    with pytest.raises(ConfigError, match=f"{key} from {env_key}: must be a finite number"):
        load_settings({}, {env_key: raw}, cwd)


def test_infinite_float_from_a_flag_or_toml_is_refused(cwd):
    with pytest.raises(ConfigError, match="delay from --delay: must be a finite number"):
        load_settings({"delay": float("inf")}, {}, cwd)
    crawler_toml(cwd, "total_timeout = inf\n")           # valid TOML, useless setting
    with pytest.raises(ConfigError, match="total_timeout from crawler.toml: must be a finite"):
        load_settings({}, {}, cwd)
    crawler_toml(cwd, "delay = nan\n")
    with pytest.raises(ConfigError, match="delay from crawler.toml: must be a finite"):
        load_settings({}, {}, cwd)


@pytest.mark.parametrize("key", ["connect_timeout", "read_timeout", "total_timeout"])
@pytest.mark.parametrize("raw", ["0", "0.0", "-1", "3601"])
def test_timeouts_must_be_positive_and_sane(cwd, key, raw):
    env_key = "CRAWLER_" + key.upper()
    with pytest.raises(ConfigError, match=rf"{key} from {env_key}: must be > 0 and <= 3600 "
                                          rf"seconds \(got '{raw}'\)"):
        load_settings({}, {env_key: raw}, cwd)
    assert load_settings({}, {env_key: "0.5"}, cwd)[key] == 0.5
    assert load_settings({}, {env_key: "3600"}, cwd)[key] == 3600.0


@pytest.mark.parametrize("key,good,bad,message", [
    ("delay", ["0", "3600"], ["-0.5", "3600.5"], "must be between 0 and 3600 seconds"),
    ("retry_after_cap", ["0", "86400"], ["86401", "-1"], "must be between 0 and 86400 seconds"),
    ("max_bytes", ["1024", "5000000"], ["1023", "0"], "must be >= 1024"),
])
def test_bounds(cwd, key, good, bad, message):
    env_key = "CRAWLER_" + key.upper()
    for raw in good:
        assert load_settings({}, {env_key: raw}, cwd).source(key) == "env"
    for raw in bad:
        with pytest.raises(ConfigError, match=f"{key} from {env_key}: {message}"):
            load_settings({}, {env_key: raw}, cwd)


def test_fail_on_error_is_one_sentence_with_grouped_tokens(cwd):
    with pytest.raises(ConfigError) as exc:
        load_settings({"fail_on": "dead,deadd"}, {}, cwd)
    text = str(exc.value)
    assert text.startswith("fail_on from --fail-on: unknown token 'deadd' in 'dead,deadd' "
                           "(did you mean 'dead'?); use statuses (")
    assert text.count("--fail-on") == 1 and text.count("dead,deadd") == 1 and "\n" not in text
    for group in ("statuses (", "health (failing, dead, unknown)",
                  "dates (published_mismatch, modified_after_access, citation_error)",
                  "title_changed", "modifiers new and none"):
        assert group in text


# --- the README's [tool.crawler] snippet pasted into crawler.toml ---

def test_crawler_toml_accepts_a_tool_crawler_table(cwd):
    crawler_toml(cwd, '[tool.crawler]\ndelay = 2.0\nper-host = 1\nfail-on = "dead"\n')
    s = load_settings({}, {}, cwd)
    assert (s.delay, s.source("delay")) == (2.0, "crawler.toml")
    assert (s.fail_on, s.source("fail_on")) == ("dead", "crawler.toml")


def test_crawler_toml_tool_table_mixes_with_top_level_keys_and_beats_pyproject(cwd):
    pyproject(cwd, "delay = 9.0\nconcurrency = 3\n")
    crawler_toml(cwd, "per_host = 2\n\n[tool.crawler]\ndelay = 4.0\n")
    s = load_settings({}, {}, cwd)
    assert (s.delay, s.source("delay")) == (4.0, "crawler.toml")
    assert (s.per_host, s.source("per_host")) == (2, "crawler.toml")
    assert (s.concurrency, s.source("concurrency")) == (3, "pyproject.toml")


@pytest.mark.parametrize("body,message", [
    ("delay = 1.0\n[tool.crawler]\ndelay = 2.0\n", "delay is set twice in crawler.toml"),
    ("per-host = 1\nper_host = 2\n", "per_host is set twice in crawler.toml"),
    ("[tool.crawler]\ndelay = 2.0\n[tool.black]\nline-length = 99\n",
     r"unknown table \[tool.black\] in crawler.toml"),
    ("[tool.crawler]\ndealy = 2.0\n", "unknown setting 'dealy' in crawler.toml.*'delay'"),
    ("tool = 3\n", "crawler.toml: 'tool' must be a table"),
    ("[tool]\ncrawler = 3\n", r"crawler.toml: \[tool.crawler\] must be a table"),
])
def test_crawler_toml_tool_table_mistakes_are_config_errors(cwd, body, message):
    crawler_toml(cwd, body)
    with pytest.raises(ConfigError, match=message):
        load_settings({}, {}, cwd)


@pytest.mark.parametrize("body,message", [
    ("tool = 3\n", "pyproject.toml: 'tool' must be a table"),
    ("tool = 'x'\n", "pyproject.toml: 'tool' must be a table"),
    ("[tool]\ncrawler = [1]\n", r"pyproject.toml: \[tool.crawler\] must be a table"),
])
def test_pyproject_with_a_non_table_tool_is_a_config_error(cwd, body, message):
    (cwd / "pyproject.toml").write_text("[project]\nname = 'x'\n".replace("[project]", body + "[project]"))
    with pytest.raises(ConfigError, match=message):
        load_settings({}, {}, cwd)


def test_pyproject_other_tools_are_ignored(cwd):
    (cwd / "pyproject.toml").write_text("[tool.black]\nline-length = 99\n")
    assert load_settings({}, {}, cwd).source("delay") == "default"


def test_config_file_not_utf8_is_a_config_error(cwd):
    (cwd / "crawler.toml").write_bytes(b'user_agent = "\xff"\n')
    with pytest.raises(ConfigError, match="crawler.toml: not valid TOML: the file is not UTF-8"):
        load_settings({}, {}, cwd)
