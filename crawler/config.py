"""Effective settings and where each one came from.

Precedence, highest first (documented in `crawler config --help`):

    1. command-line flags
    2. environment variables   CRAWLER_<NAME>, e.g. CRAWLER_DELAY=5, CRAWLER_FAIL_ON=dead
    3. crawler.toml            in the current directory, top-level keys (a [tool.crawler]
                               table copied from pyproject.toml is read the same way)
    4. pyproject.toml          in the current directory, the [tool.crawler] table
    5. built-in defaults       the DEFAULTS table below

crawler.toml ranks above pyproject.toml because a file that exists only for the crawler is the
more specific statement of intent. Keys may be spelled `per_host` or `per-host`. Unknown keys
are errors (a typo silently ignored is a setting silently lost); every error names the key and
the source it came from.

Numbers are checked for sense, not only for type: every float must be finite (`inf` as a delay
hangs a run, `nan` compares false with everything), timeouts must be above zero (0 times out
every fetch), and delays and waits are capped so one typo cannot stall CI for days.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler import USER_AGENT
from crawler.policy import DEFAULT_FAIL_ON, parse_fail_on

ENV_PREFIX = "CRAWLER_"
FLAG, ENV, CRAWLER_TOML, PYPROJECT, DEFAULT = (
    "flag", "env", "crawler.toml", "pyproject.toml", "default")


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the key and its source."""


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    default: Any
    type: type
    help: str
    check: Callable[[Any], str | None] | None = None   # returns a complaint or None


def _at_least(low: float) -> Callable[[Any], str | None]:
    return lambda v: None if v >= low else f"must be >= {low}"


def _between(low: float, high: float, unit: str = "") -> Callable[[Any], str | None]:
    suffix = f" {unit}" if unit else ""
    return lambda v: (None if low <= v <= high
                      else f"must be between {low:g} and {high:g}{suffix}")


def _timeout(v: float) -> str | None:
    """0 would time out every fetch; over an hour per fetch is a typo, not a setting."""
    return None if 0 < v <= MAX_TIMEOUT else f"must be > 0 and <= {MAX_TIMEOUT:g} seconds"


def _percent(v: float) -> str | None:
    return None if 0 <= v <= 100 else "must be between 0 and 100"


def _fail_on(v: str) -> str | None:
    try:
        parse_fail_on(v)
    except ValueError as exc:
        return str(exc)
    return None


MAX_DELAY = 3600.0            # an hour between two requests to one host
MAX_RETRY_AFTER = 86400.0     # a day: a Retry-After beyond that is not worth waiting for
MAX_TIMEOUT = 3600.0          # an hour for one fetch
MIN_BYTES = 1024              # below this no page's <head> fits: every page would be too_large

DEFAULTS: tuple[Option, ...] = (
    Option("db", "crawler.db", str, "SQLite store: the run history"),
    Option("cache_dir", "cache", str, "HTTP cache directory (bodies and validators)"),
    Option("concurrency", 16, int, "requests in flight across all hosts", _at_least(1)),
    Option("per_host", 1, int, "requests in flight per host", _at_least(1)),
    Option("delay", 1.0, float, "minimum seconds between requests to one host",
           _between(0, MAX_DELAY, "seconds")),
    Option("user_agent", USER_AGENT, str, "User-Agent header, names us and a contact URL"),
    Option("ignore_robots", False, bool, "skip robots.txt (only with the site's permission)"),
    Option("max_retries", 3, int, "attempts after the first for transient failures",
           _at_least(0)),
    Option("retry_after_cap", 60.0, float, "longest Retry-After we wait, seconds",
           _between(0, MAX_RETRY_AFTER, "seconds")),
    Option("connect_timeout", 10.0, float, "seconds to connect", _timeout),
    Option("read_timeout", 20.0, float, "seconds between bytes", _timeout),
    Option("total_timeout", 60.0, float, "seconds for a whole fetch", _timeout),
    Option("max_redirects", 10, int, "redirect hops before redirect_loop", _at_least(0)),
    Option("max_bytes", 5_000_000, int, "body cap per page, bytes", _at_least(MIN_BYTES)),
    Option("allow_private", False, bool, "allow loopback/private addresses (tests only)"),
    Option("title_threshold", 85.0, float, "title similarity (0-100) that counts as a match",
           _percent),
    Option("dead_runs", 3, int, "consecutive bad runs before a citation is dead", _at_least(1)),
    Option("dead_days", 3.0, float, "days a bad streak must span to be dead", _at_least(0)),
    Option("fail_on", DEFAULT_FAIL_ON, str, "policy: what fails the run (see --fail-on)",
           _fail_on),
    Option("archive_endpoint", "https://archive.org/wayback/available", str,
           "archive lookup API for dead links"),
)
OPTIONS = {o.name: o for o in DEFAULTS}


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    value: Any
    source: str       # flag | env | crawler.toml | pyproject.toml | default


class Settings(Mapping[str, Any]):
    """Read-only effective settings: `s.delay`, `s["delay"]`, `s.source("delay")`."""

    def __init__(self, settings: Mapping[str, Setting]):
        self._settings = dict(settings)

    def __getitem__(self, name: str) -> Any:
        return self._settings[name].value

    def __getattr__(self, name: str) -> Any:
        try:
            return self._settings[name].value
        except KeyError:
            raise AttributeError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._settings)

    def __len__(self) -> int:
        return len(self._settings)

    def source(self, name: str) -> str:
        return self._settings[name].source

    def describe(self) -> list[Setting]:
        return list(self._settings.values())


def coerce(name: str, raw: Any, source: str) -> Any:
    """Turn a flag, env string or TOML value into the option's type, or say why not."""
    opt = OPTIONS[name]
    try:
        value = _convert(opt.type, raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} from {source}: expected {opt.type.__name__}, "
                          f"got {raw!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{name} from {source}: must be a finite number (got {raw!r})")
    complaint = opt.check(value) if opt.check else None
    if complaint:
        got = "" if repr(raw) in complaint else f" (got {raw!r})"
        raise ConfigError(f"{name} from {source}: {complaint}{got}")
    return value


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


def _convert(kind: type, raw: Any) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise ValueError(raw)
    if isinstance(raw, bool) or (kind is str and not isinstance(raw, str)):
        raise TypeError(raw)          # TOML `delay = true` or `db = 3` is a mistake
    if kind is int and isinstance(raw, float):
        raise TypeError(raw)          # 1.5 requests in flight is a mistake, not 1
    return kind(raw.strip() if isinstance(raw, str) and kind is not str else raw)


def _normalise(table: Mapping[str, Any], source: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for key, value in table.items():
        name = key.replace("-", "_").lower()
        if name not in OPTIONS:
            close = difflib.get_close_matches(name, OPTIONS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"unknown setting {key!r} in {source}{hint}")
        if name in out:
            raise ConfigError(f"{name} is set twice in {source} ({spelled[name]!r} and "
                              f"{key!r}); keep one")
        out[name], spelled[name] = value, key
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path.name}: not valid TOML: the file is not UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path.name}: cannot read: {exc.strerror or exc}") from None


def _tool_crawler(data: Mapping[str, Any], source: str) -> dict[str, Any] | None:
    """The [tool.crawler] table of a parsed file, None when absent; a non-table is an error."""
    tool = data.get("tool")
    if tool is None:
        return None
    if not isinstance(tool, dict):
        raise ConfigError(f"{source}: 'tool' must be a table ([tool.crawler]), "
                          f"got {type(tool).__name__} {tool!r}")
    table = tool.get("crawler")
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{source}: [tool.crawler] must be a table, "
                          f"got {type(table).__name__} {table!r}")
    return table


def _crawler_toml_table(data: dict[str, Any]) -> dict[str, Any]:
    """crawler.toml takes top-level keys; a [tool.crawler] table pasted from pyproject.toml
    (the README's snippet) is read the same way. A key set in both places is an error."""
    if "tool" not in data:
        return data
    table = _tool_crawler(data, CRAWLER_TOML) or {}
    others = sorted(set(data["tool"]) - {"crawler"})
    if others:
        raise ConfigError(f"unknown table [tool.{others[0]}] in {CRAWLER_TOML} (crawler.toml "
                          f"holds only crawler settings, as top-level keys or [tool.crawler])")
    top = {k: v for k, v in data.items() if k != "tool"}
    both = sorted(set(_normalise(top, CRAWLER_TOML)) & set(_normalise(table, CRAWLER_TOML)))
    if both:
        raise ConfigError(f"{both[0]} is set twice in {CRAWLER_TOML}: as a top-level key and "
                          f"in [tool.crawler]; keep one")
    return {**top, **table}


def file_layers(cwd: Path) -> list[tuple[str, dict[str, Any]]]:
    """The config files in `cwd`, highest precedence first, as (source, table)."""
    layers = []
    crawler_toml = cwd / "crawler.toml"
    if crawler_toml.is_file():
        table = _crawler_toml_table(_read_toml(crawler_toml))
        layers.append((CRAWLER_TOML, _normalise(table, CRAWLER_TOML)))
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        table = _tool_crawler(_read_toml(pyproject), PYPROJECT) or {}
        layers.append((PYPROJECT, _normalise(table, PYPROJECT)))
    return layers


def env_layer(env: Mapping[str, str]) -> dict[str, str]:
    """CRAWLER_<NAME> variables that name a known setting (others, like a CRAWLER_TOKEN, pass).

    An empty variable counts as unset: CI systems expand an undefined variable to ''
    (GitHub's `${{ vars.CRAWLER_FAIL_ON }}`), and that must not override a file.
    """
    found = {}
    for key, value in env.items():
        if key.startswith(ENV_PREFIX) and value.strip():
            name = key[len(ENV_PREFIX):].lower()
            if name in OPTIONS:
                found[name] = value
    return found


def load_settings(flags: Mapping[str, Any], env: Mapping[str, str], cwd: Path) -> Settings:
    """Merge flags > env > crawler.toml > pyproject.toml > defaults; a None flag is 'not given'."""
    layers: list[tuple[str, Mapping[str, Any]]] = [
        (FLAG, {k.replace("-", "_"): v for k, v in flags.items() if v is not None}),
        (ENV, env_layer(env)),
        *file_layers(cwd),
    ]
    result = {}
    for opt in DEFAULTS:
        source, raw = next(((src, table[opt.name]) for src, table in layers
                            if opt.name in table), (DEFAULT, opt.default))
        value = raw if source == DEFAULT else coerce(opt.name, raw, _label(source, opt.name))
        result[opt.name] = Setting(opt.name, value, source)
    return Settings(result)


def _label(source: str, name: str) -> str:
    """Name the source the way the user wrote it: --per-host, CRAWLER_PER_HOST, a file."""
    if source == FLAG:
        return "--" + name.replace("_", "-")
    if source == ENV:
        return ENV_PREFIX + name.upper()
    return source


def format_settings(settings: Settings) -> str:
    """What `crawler config` prints: one setting a line, with its source."""
    rows = [(s.name, _show(s.value), s.source) for s in settings.describe()]
    width = max(len(n) for n, _, _ in rows)
    vwidth = max(len(v) for _, v, _ in rows)
    return "\n".join(f"{n:<{width}}  {v:<{vwidth}}  ({src})" for n, v, src in rows) + "\n"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
