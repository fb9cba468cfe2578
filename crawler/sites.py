"""Per-site knowledge as named rule tables: bot walls, paywalls, error and junk titles.

Every rule has a name (shown in Verdict.error, so a report says *why*) and a source note.
Sources: /work/shared/design/sites.md (host behaviour, is-antibot signatures),
ms609/citation-bot:constants/bad_data.php (BAD_ZOTERO_TITLES, BAD_TITLES: junk titles in many
languages), wikimedia/DeadlinkChecker:src/CheckIfDead.php (redirect to a 404 URL).
Matching is on NFKC-casefolded text so full-width and case variants need no extra entries.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from crawler.model import Page

__all__ = [
    "BOT_WALL_HEADERS",
    "BOT_WALL_MARKUP",
    "BOT_WALL_TITLES",
    "ERROR_TEXTS",
    "ERROR_TITLES",
    "ERROR_URLS",
    "PARKED_TITLES",
    "PAYWALL_TEXTS",
    "Rule",
    "bot_wall",
    "error_page",
    "error_url",
    "fold",
    "parked",
    "paywall",
]

SHORT_PAGE = 3000     # chars of visible text: an error page says little
WALL_PAGE = 1000      # ... and a challenge page even less (comment forms carry reCAPTCHA too)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    pattern: re.Pattern[str]
    source: str

    def search(self, text: str) -> bool:
        return bool(self.pattern.search(text))


def _r(name: str, regex: str, source: str) -> Rule:
    return Rule(name, re.compile(regex, re.IGNORECASE), source)


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").casefold()


BOT_WALL_TITLES = (
    _r("cloudflare-just-a-moment", r"^just a moment", "sites.md §2 Economist: 403 <title>Just a moment...</title>"),
    _r("cloudflare-attention", r"^attention required", "Cloudflare block page title"),
    _r("are-you-a-robot", r"are you a robot", "sites.md §9 Bloomberg tosv2 200 'Bloomberg - Are you a robot?'; citation-bot BAD_TITLES"),
    _r("access-denied", r"^access (to this page has been )?denied", "PerimeterX/Akamai block titles (is-antibot)"),
    _r("pardon-interruption", r"pardon our interruption", "Distil/Imperva block title"),
    _r("captcha-title", r"captcha|shieldsquare|verify(ing)? you are (a )?human|human verification",
       "citation-bot BAD_ZOTERO_TITLES 'Captcha', 'ShieldSquare'"),
    _r("security-check", r"^(security check|checking your browser|one more step|please wait)", "Cloudflare/Sucuri interstitials"),
)

BOT_WALL_MARKUP = (
    _r("cloudflare-challenge", r"_cf_chl_opt|cf-browser-verification|/cdn-cgi/challenge-platform/h/",
       "is-antibot providers.json: HTML _cf_chl_opt"),
    _r("datadome-captcha", r"geo\.captcha-delivery\.com|ct\.captcha-delivery\.com",
       "sites.md §1 Reuters 401 body loads geo.captcha-delivery.com (neuters#42)"),
    _r("datadome-enable-js", r"please enable js and disable any ad blocker", "sites.md §1 Reuters (jina-ai/reader#1158)"),
    _r("perimeterx-captcha", r"px-captcha|_pxCaptcha|/tosv2\.html", "sites.md §9 Bloomberg PerimeterX, is-antibot"),
    _r("recaptcha-wall", r"g-recaptcha|h-captcha|hcaptcha\.com/1/api", "generic captcha widgets on a short page"),
)

# Headers that *prove* a challenge. x-datadome: protected alone is not one (is-antibot#15).
BOT_WALL_HEADERS = (
    ("cf-mitigated", "challenge", "is-antibot: cf-mitigated: challenge"),
    ("x-datadome", "captcha", "DataDome answer served a captcha"),
)

ERROR_TITLES = (
    _r("404-title", r"^\W*404\b|\b404\s*(error|not found|page)|\berror\s*404|404エラ|^error\b|\berror page\b"
       r"|an error (has )?occ?urr?ed",
       "citation-bot BAD_ZOTERO_TITLES ('404 Not Found', 'Error 404', '404 | ', 'An Error Occurred')"),
    # Narrower than citation-bot's bare 'does not exist' / 'has expired': those are also headlines.
    _r("not-found-en", r"\b(page|article|url|file|content|story|link) (was |could )?not (be )?found|^not found\b"
       r"|\b(page|article|url|file|content|story|link)s? (you requested |you are looking for )?(does not|doesn'?t) exist"
       r"|\b(page|article|content|story|link) (is )?(no|not) longer available|\b(article|page|link|content) has expired"
       r"|^missing page|this is not the page you requested",
       "citation-bot BAD_ZOTERO_TITLES ('page not found', 'does not exist', 'has expired', 'not longer available')"),
    _r("not-found-ja", r"(お探しの)?ページ(は|が)見つかりません|ページが存在しません|記事は削除|記事が見つかりません|該当(する)?(ページ|記事)(は|が)(ありません|見つかりません)|404エラ|url.*が変わりました|お探しの(記事|ページ)は",
       "citation-bot ('お探しのページは見つかりませんでした', '404エラ'); sites.md §5 BBC 'ページが見つかりません'"),
    _r("not-found-other", r"seite nicht gefunden|página no encontrada|página não (existe|encontrada)|page non trouvée|pagina (is )?niet gevonden|страница не найдена|找不到网页|页面不存在|错误页面|الصفحة غير موجودة|stranica nije pronađena|페이지를 찾을 수 없습니다",
       "citation-bot BAD_ZOTERO_TITLES (multilingual)"),
)

# Visible text of a short page that says it is an error page (checked only on short pages).
ERROR_TEXTS = (
    ERROR_TITLES[2],
    _r("not-found-text-en", r"(the )?page you (are|were) looking for (can(no|')t be found|could not be found|does not exist|is not available|has been (moved|removed))|we can'?t find (that|the|this) page",
       "common 404 page wording"),
)

# DeadlinkChecker: "REDIRECT TO 404" when the final URL names an error page.
ERROR_URLS = (
    _r("redirect-to-404", r"404\.html?|/404(/|$|\?)|notfound|not-found|/error(/|\.|$|\?)",
       "wikimedia/DeadlinkChecker:src/CheckIfDead.php processCurlResults"),
)

BOT_WALL_URLS = (
    _r("perimeterx-tosv2", r"/tosv2\.html|/px-captcha|captcha-delivery\.com|/cdn-cgi/challenge-platform",
       "sites.md §9: Bloomberg 307 -> /tosv2.html?vid=...&url=<base64>"),
)

# A redirect to a login page: the article sits behind it.
PAYWALL_URLS = (
    _r("redirect-to-login", r"/(login|log-in|signin|sign-in|subscribe|lgck\d*)(\.\w+)?([/?#]|$)|[?&]jumpurl=",
       "sites.md §6 Asahi login link /rd/lgck2.html?jumpUrl=<article>"),
)

PAYWALL_TEXTS = (
    _r("subscribe-to-read", r"subscribe to (read|continue)|subscriber to read|to continue reading,? (please )?(subscribe|log ?in|sign in)|register to view|subscribers only",
       "citation-bot BAD_ZOTERO_TITLES ('Subscribe to read', 'register to view')"),
    _r("ja-members-only", r"有料会員限定|有料会員の方のみ|この記事は(有料)?会員限定|続きを読むには.{0,20}(ログイン|会員登録)",
       "sites.md §4 Nikkei '有料会員限定', §8 Jiji '会員限定'"),
    _r("login-title", r"^(log ?in|sign ?in|einloggen|ログイン)\b", "citation-bot BAD_ZOTERO_TITLES (' Log In', 'Sign in')"),
)

PARKED_TITLES = (
    _r("domain-for-sale", r"(domain|website) (is )?for sale|lease this domain|domain available|has been registered|account suspended",
       "citation-bot BAD_ZOTERO_TITLES ('domain for sale', 'Account Suspended')"),
)


def _first(rules: tuple[Rule, ...], texts: list[str]) -> str:
    for rule in rules:
        if any(rule.search(t) for t in texts if t):
            return rule.name
    return ""


def _titles(page: Page) -> list[str]:
    return [fold(t) for src, t in page.titles if src in ("title", "og:title", "h1")]


def bot_wall(page: Page | None, headers: Mapping[str, str], body_head: str) -> str:
    """Name of the bot-wall rule that fired, or ''. Works on 200 answers too.

    Markup markers count only on short pages: Bloomberg and NYT articles carry vendor
    scripts and cookies on normal 200 answers (sites.md, is-antibot#15/#75).
    """
    for key, value, _src in BOT_WALL_HEADERS:
        if value in (headers.get(key) or "").lower():
            return f"header-{key}"
    texts = _titles(page) if page else []
    name = _first(BOT_WALL_TITLES, texts)
    if name:
        return name
    short = page is None or len(page.text) < WALL_PAGE
    return _first(BOT_WALL_MARKUP, [body_head]) if short else ""


def error_page(page: Page) -> str:
    """Name of the error-page rule matching the page's title (or a short page's text)."""
    name = _first(ERROR_TITLES, _titles(page))
    if name:
        return name
    if len(page.text) < SHORT_PAGE:
        return _first(ERROR_TEXTS, [fold(page.text[:SHORT_PAGE])])
    return ""


def error_url(url: str) -> str:
    return _first(ERROR_URLS, [fold(url.split("://", 1)[-1].split("/", 1)[-1])])


def bot_wall_url(url: str) -> str:
    return _first(BOT_WALL_URLS, [fold(url)])


def paywall_url(url: str) -> str:
    return _first(PAYWALL_URLS, [fold(url.split("://", 1)[-1].split("/", 1)[-1])])


def paywall(page: Page) -> str:
    """JSON-LD isAccessibleForFree: false, else a login/subscribe wall in title or text."""
    if page.is_accessible_for_free is False:
        return "jsonld-not-free"
    return _first(PAYWALL_TEXTS, _titles(page) + [fold(page.text[:SHORT_PAGE * 3])])


def parked(page: Page) -> str:
    return _first(PARKED_TITLES, _titles(page))
