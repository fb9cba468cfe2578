"""crawler: keep an article's citations honest.

registry -> fetch -> verify -> store -> report, each a module a user can import.
"""

from crawler.model import Citation, DateVerdict, Fetched, Health, Hop, Page, RowError, Status, Verdict

__version__ = "0.1.0"
PROJECT_URL = "https://github.com/crawler-citations/crawler"
USER_AGENT = f"crawler/{__version__} (+{PROJECT_URL})"

__all__ = [
    "Citation", "DateVerdict", "Fetched", "Health", "Hop", "Page", "RowError", "Status",
    "Verdict", "USER_AGENT", "__version__",
]
