"""verify.py: the status decision tree, table-driven on constructed Fetched/Page values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from crawler.extract import parse_page
from crawler.model import Citation, DateVerdict, Fetched, Hop, Status
from crawler.verify import judge, needs_probe

PAGES = Path(__file__).parent / "pages"
TODAY = dt.date(2026, 11, 24)
ART = "https://www.example.com/news/2025/11/peace-plan.html"


def fetched(name: str = "", code: int = 200, url: str = ART, final: str = "", hops=(),
            headers=None, **kw) -> Fetched:
    body = (PAGES / name).read_bytes() if name else b""
    return Fetched(url=url, final_url=final or url, status_code=code, hops=tuple(hops),
                   headers=headers or {"content-type": "text/html"}, body=body,
                   fetched_at="2026-11-24T03:00:00+00:00", **kw)


def cite(title: str = "", url: str = ART, published: str = "", accessed: str = "2025-12-01",
         outlet: str = "") -> Citation:
    return Citation(id="c1", title=title, url=url, published=published, accessed=accessed, outlet=outlet)


def run(f: Fetched, c: Citation | None = None, **kw):
    page = parse_page(f.body, f.headers, f.final_url) if f.body else None
    return judge(c or cite(), f, page, today=TODAY, **kw)


@pytest.mark.parametrize("outcome", [Status.TIMEOUT, Status.DNS_ERROR, Status.CONNECTION_ERROR,
                                     Status.TLS_ERROR, Status.ROBOTS_DISALLOWED, Status.INVALID_URL,
                                     Status.REDIRECT_LOOP, Status.PRIVATE_ADDRESS])
def test_transport_outcomes_pass_through(outcome):
    v = run(Fetched(url=ART, outcome=outcome, error="detail for humans", fetched_at="2026-11-24T03:00:00+00:00"))
    assert (v.status, v.error, v.title_match) == (outcome, "detail for humans", None)


@pytest.mark.parametrize("name, code, headers, status", [
    ("soft404_en.html", 404, None, Status.NOT_FOUND),
    ("", 410, None, Status.GONE),
    ("", 500, None, Status.SERVER_ERROR),
    ("", 418, None, Status.CLIENT_ERROR),
    ("datadome_reuters.html", 401, {"x-datadome": "protected", "x-dd-b": "3"}, Status.BLOCKED),   # Reuters: 401
    ("cloudflare_challenge.html", 403, None, Status.BLOCKED),                                        # Economist
    ("", 429, {"retry-after": "60"}, Status.BLOCKED),
    ("cloudflare_challenge.html", 503, None, Status.BLOCKED),     # challenge served as 503: not a server error
])
def test_http_codes(name, code, headers, status):
    assert run(fetched(name, code, headers=headers)).status is status


@pytest.mark.parametrize("name, headers, rule", [
    ("cloudflare_challenge.html", None, "cloudflare-just-a-moment"),
    ("datadome_reuters.html", None, "datadome-captcha"),
    ("perimeterx_bloomberg.html", None, "are-you-a-robot"),
    ("economist_en.html", {"cf-mitigated": "challenge"}, "header-cf-mitigated"),
])
def test_bot_walls_served_with_200_are_blocked(name, headers, rule):
    v = run(fetched(name, headers=headers), cite("Ukraine struggles to cope with America's destructive peace plans"))
    assert (v.status, v.error, v.title_match) == (Status.BLOCKED, rule, None)


def test_datadome_protected_header_on_a_real_article_is_not_a_block():
    v = run(fetched("economist_en.html", headers={"x-datadome": "protected", "set-cookie": "datadome=abc"}),
            cite("Ukraine struggles to cope with America's destructive peace plans"))
    assert v.status is Status.OK and v.title_match is True


@pytest.mark.parametrize("name, rule", [("soft404_ja.html", "not-found-ja"), ("soft404_en.html", "not-found-en")])
def test_error_page_with_200_is_soft_404(name, rule):
    v = run(fetched(name), cite("The cited headline"))
    assert (v.status, v.error) == (Status.SOFT_404, rule)
    assert v.fingerprint == ""          # an error page must not become the drift baseline


@pytest.mark.parametrize("final, rule", [
    ("https://www.example.com/", "redirect-to-home"),
    ("https://www.example.com/index.html", "redirect-to-home"),
    ("https://www.example.com/news/", "redirect-to-section"),
    ("https://www.example.com/errors/404.html", "redirect-to-404"),
])
def test_deep_url_redirected_to_home_or_section_is_soft_404(final, rule):
    f = fetched("home.html", final=final, hops=[Hop(ART, 301)])
    assert (run(f).status, run(f).error) == (Status.SOFT_404, rule)


def test_probe_same_page_is_soft_404():
    f = fetched("generic_lander.html")
    probe = fetched("generic_lander.html", url="https://www.example.com/news/2025/11/qwertyuiopasdfghjklzxcvbn")
    c = cite("Peace plan talks in Geneva")
    assert needs_probe(c, f, parse_page(f.body))
    v = run(f, c, probe=(probe, parse_page(probe.body)))
    assert (v.status, v.error) == (Status.SOFT_404, "probe-same-page")


def test_probe_same_redirect_is_soft_404():
    f = fetched("generic_lander.html", final="https://www.example.com/landing", hops=[Hop(ART, 302)])
    pr = fetched("generic_lander.html", url="https://www.example.com/news/2025/11/zzz",
                 final="https://www.example.com/landing", hops=[Hop("https://www.example.com/news/2025/11/zzz", 302)])
    v = run(f, cite("Peace plan talks"), probe=(pr, None))
    assert (v.status, v.error) == (Status.SOFT_404, "probe-same-redirect")


def test_honest_404_for_probe_means_page_is_real():
    f = fetched("another_article.html")
    probe = fetched("soft404_en.html", code=404, url="https://www.example.com/news/2025/11/zzz")
    v = run(f, cite("Peace plan talks in Geneva"), probe=(probe, None))
    assert v.status is Status.OK and v.title_match is False and v.url_status == "deviated"


def test_same_as_home_page_is_soft_404():
    f = fetched("home.html")
    v = run(f, cite("Peace plan talks"), home=parse_page((PAGES / "home.html").read_bytes()))
    assert (v.status, v.error) == (Status.SOFT_404, "same-as-home")


def test_jsonld_paywall_still_checks_title():
    v = run(fetched("paywall_jsonld.html"), cite("Make Money Not War: Trump's Real Plan for Peace in Ukraine"))
    assert (v.status, v.error, v.title_match) == (Status.PAYWALLED, "jsonld-not-free", True)


def test_permanent_redirect_to_the_same_article_elsewhere_is_redirected():
    new = "https://www.example.com/world/peace-plan-geneva-talks"
    v = run(fetched("economist_en.html", final=new, hops=[Hop(ART, 301)]),
            cite("Ukraine struggles to cope with America's destructive peace plans"))
    assert (v.status, v.final_url, v.title_match) == (Status.REDIRECTED, new, True)
    assert v.redirects == (Hop(ART, 301),)


@pytest.mark.parametrize("final, code", [
    ("https://example.com/news/2025/11/peace-plan.html", 301),    # only www / scheme changed
    ("https://www.example.com/world/peace-plan-geneva-talks", 302),   # temporary
])
def test_trivial_or_temporary_redirect_is_ok(final, code):
    v = run(fetched("economist_en.html", final=final, hops=[Hop(ART, code)]))
    assert v.status is Status.OK


def test_ok_article_fills_the_verdict():
    v = run(fetched("bbc_ja.html"), cite("トランプ氏、ウクライナ和平案を提示　ロシア寄りと批判も",
                                         published="2025-11-21", outlet="BBC News Japan"))
    assert v.status is Status.OK and v.title_match is True and v.title_score == 100
    assert v.page_title == "トランプ氏、ウクライナ和平案を提示 ロシア寄りと批判も - BBCニュース"
    assert (v.published_found, v.date_verdict, v.url_status) == ("2025-11-21", DateVerdict.OK, "live")
    assert v.fingerprint.startswith("mh1:") and v.checked_at == "2026-11-24T03:00:00+00:00"


def test_another_article_on_a_foreign_host_is_usurped():
    f = fetched("another_article.html", final="https://garden.example.org/tomatoes", hops=[Hop(ART, 301)])
    v = run(f, cite("Ukraine struggles to cope with America's destructive peace plans"))
    assert (v.status, v.title_match, v.url_status) == (Status.REDIRECTED, False, "usurped")


@pytest.mark.parametrize("name, published, accessed, verdict", [
    ("modified_later.html", "2025-11-25", "2025-12-01", DateVerdict.MODIFIED_AFTER_ACCESS),
    ("modified_later.html", "2025-11-25", "2026-03-01", DateVerdict.OK),
    ("modified_later.html", "2025-10-01", "2025-12-01", DateVerdict.PUBLISHED_MISMATCH),
    ("modified_later.html", "2025-11-26", "2025-12-01", DateVerdict.MODIFIED_AFTER_ACCESS),   # 1 day: time zones
    ("modified_later.html", "2025-11-25", "2027-01-01", DateVerdict.CITATION_ERROR),          # accessed in the future
    ("modified_later.html", "2025-11-25", "2025-11-01", DateVerdict.CITATION_ERROR),          # accessed before published
    ("modified_later.html", "", "2025-11-01", DateVerdict.CITATION_ERROR),                    # ... per the page
    ("generic_lander.html", "2025-11-25", "2025-12-01", DateVerdict.NO_DATE),
    ("bbc_ja.html", "2025-11-22", "2025-12-01", DateVerdict.OK),      # 08:15Z on the 21st, cited the 22nd
])
def test_date_verdicts(name, published, accessed, verdict):
    v = run(fetched(name), cite("The Kremlin Has Already Won", published=published, accessed=accessed))
    assert v.date_verdict is verdict


def test_non_html_answer_is_ok_and_truncated_unreadable_is_too_large():
    assert run(Fetched(url=ART, final_url=ART, status_code=200, body=b"%PDF")).status is Status.OK
    f = Fetched(url=ART, final_url=ART, status_code=200, body=b"\x00" * 10, truncated=True)
    assert judge(cite(), f, None, today=TODAY).status is Status.TOO_LARGE


@pytest.mark.parametrize("name, code, title, url, wanted", [
    ("another_article.html", 200, "Peace plan talks in Geneva", ART, True),
    ("economist_en.html", 200, "Ukraine struggles to cope with America's destructive peace plans", ART, False),
    ("another_article.html", 200, "", ART, True),
    ("soft404_en.html", 404, "Peace plan", ART, False),
    ("cloudflare_challenge.html", 200, "Peace plan", ART, False),
    ("soft404_ja.html", 200, "Peace plan", ART, False),
    ("another_article.html", 200, "Peace plan", "https://www.example.com/", False),
])
def test_needs_probe(name, code, title, url, wanted):
    f = fetched(name, code, url=url)
    assert needs_probe(cite(title, url=url), f, parse_page(f.body)) is wanted


def test_redirect_to_login_is_paywalled():
    login = "https://digital.asahi.com/rd/lgck2.html?jumpUrl=https%3A%2F%2Fdigital.asahi.com%2Farticles%2FX.html"
    v = run(fetched("generic_lander.html", final=login, hops=[Hop(ART, 302)]), cite("Peace plan talks"))
    assert (v.status, v.error) == (Status.PAYWALLED, "redirect-to-login")


def test_redirect_to_perimeterx_page_is_blocked():
    tos = "https://www.bloomberg.com/tosv2.html?vid=&uuid=1&url=L2pwL25ld3M="
    v = run(fetched("generic_lander.html", final=tos, hops=[Hop(ART, 307)]), cite("Peace plan talks"))
    assert (v.status, v.error) == (Status.BLOCKED, "perimeterx-tosv2")


@pytest.mark.parametrize("headline", [
    "Drug no longer available in US pharmacies",
    "Flight 404 lands safely after engine scare",
    "Why free will does not exist, according to a neuroscientist",
    "Trump's deadline for Ukraine has expired",
])
def test_headlines_that_sound_like_errors_are_not_soft_404(headline):
    body = f"<html><head><title>{headline} | Daily</title></head><body><h1>{headline}</h1></body></html>"
    f = Fetched(url=ART, final_url=ART, status_code=200, body=body.encode(), fetched_at="2026-11-24T03:00:00+00:00")
    assert run(f, cite(headline)).status is Status.OK


@pytest.mark.parametrize("refresh, status", [
    ('<meta http-equiv="refresh" content="0; url=/">', Status.SOFT_404),
    ("<META HTTP-EQUIV='Refresh' CONTENT='3;URL=https://www.example.com/index.html'>", Status.SOFT_404),
    ('<meta http-equiv="refresh" content="390">', Status.OK),                              # reload, no target
    ('<meta http-equiv="refresh" content="600; url=/">', Status.OK),                       # too slow to be a redirect
])
def test_meta_refresh_to_home_is_soft_404(refresh, status):
    body = f"<html><head>{refresh}<title>Peace plan talks</title></head><body>Peace plan talks</body></html>"
    f = Fetched(url=ART, final_url=ART, status_code=200, body=body.encode(), fetched_at="2026-11-24T03:00:00+00:00")
    assert run(f, cite("Peace plan talks")).status is status


def test_probe_with_similar_text_but_another_title_is_not_soft_404():
    template = "<p>" + "Politics Business Sport Culture Science Newsletter Sign up Contact About " * 12 + "</p>"
    ours = f"<html><head><title>Peace plan talks in Geneva</title></head><body><main>{template}<p>Talks went on.</p></main></body></html>"
    theirs = f"<html><head><title>Search our archive</title></head><body><main>{template}<p>No results.</p></main></body></html>"
    f = Fetched(url=ART, final_url=ART, status_code=200, body=ours.encode(), fetched_at="2026-11-24T03:00:00+00:00")
    pr = Fetched(url=ART + "x", final_url=ART + "x", status_code=200, body=theirs.encode())
    v = run(f, cite("A different cited title entirely"), probe=(pr, parse_page(pr.body)))
    assert v.status is Status.OK


def test_truncated_page_with_nothing_judgeable_is_too_large():
    from crawler.extract import parse_page
    from crawler.model import Citation, Fetched
    from crawler.verify import judge
    body = b"\0" * 200_000
    fetched = Fetched(url="https://e.org/a/b", final_url="https://e.org/a/b", status_code=200,
                      body=body, truncated=True, headers={"content-type": "text/html"})
    v = judge(Citation(id="1", title="A title", url="https://e.org/a/b"), fetched,
              parse_page(body, fetched.headers))
    assert v.status.value == "too_large"
    page = b"<html><head><title>A title</title></head><body>" + b"x" * 1000
    fetched = Fetched(url="https://e.org/a/b", final_url="https://e.org/a/b", status_code=200,
                      body=page, truncated=True, headers={"content-type": "text/html"})
    v = judge(Citation(id="1", title="A title", url="https://e.org/a/b"), fetched,
              parse_page(page, fetched.headers))
    assert v.status.value == "ok"          # the head holds the title: judged on what was read
