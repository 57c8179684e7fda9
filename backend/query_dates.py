"""The dates a question names, in the form page titles write them.

Teams title dated pages by their date: Confluence's meeting-notes template names a page "2016-02-18 Meeting
notes", quarterly reports are "2019 Q4 ...". People ask "back in February 2016" or "at the end of 2019". Neither
leg matches the two: BM25 weighs a year like any common word, and a sentence embedding does not know that
"February 2016" is "2016-02". So the search legs prefer pages whose *title* carries a date the question names
(backend/search.py); a question without a date is searched exactly as before.

Each hint is a phrase of title tokens: "2016 02" (month and year, from "February 2016", "Feb 18, 2016",
"18 February 2016" or "2016-02-18"), "2019 q4" (from "Q4 2019" or "2019 Q4"), and the bare years.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december")
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_YEAR = r"((?:19|20)\d\d)"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"

_MONTH_YEAR = re.compile(rf"(?i)\b{_MONTH}\s+(?:{_DAY},?\s+)?{_YEAR}\b")  # February 2016, Feb 18, 2016
_DAY_MONTH_YEAR = re.compile(rf"(?i)\b{_DAY}\s+{_MONTH},?\s+{_YEAR}\b")  # 18 February 2016
_ISO = re.compile(rf"\b{_YEAR}[-/.](0[1-9]|1[0-2])(?:[-/.]\d\d)?\b")  # 2016-02-18, 2016-02
_QUARTER = re.compile(rf"(?i)\bq([1-4])\s+(?:of\s+)?{_YEAR}\b|\b{_YEAR}\s+q([1-4])\b")  # Q4 2019, 2019 Q4
_BARE_YEAR = re.compile(rf"\b{_YEAR}\b")


@dataclass(frozen=True)
class DateHints:
    phrases: tuple[str, ...] = ()  # "2016 02", "2019 q4": consecutive title tokens
    years: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.phrases or self.years)


def _month(name: str) -> int:
    return next(i for i, m in enumerate(MONTHS, 1) if m.startswith(name.lower()[:3]))


def date_hints(question: str) -> DateHints:
    """The months, quarters and years `question` names, as title phrases; empty when it names none."""
    phrases: list[str] = []
    for m in _MONTH_YEAR.finditer(question):
        phrases.append(f"{m.group(2)} {_month(m.group(1)):02d}")
    for m in _DAY_MONTH_YEAR.finditer(question):
        phrases.append(f"{m.group(2)} {_month(m.group(1)):02d}")
    for m in _ISO.finditer(question):
        phrases.append(f"{m.group(1)} {m.group(2)}")
    for m in _QUARTER.finditer(question):
        quarter, year = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        phrases.append(f"{year} q{quarter}")
    years = _BARE_YEAR.findall(question)
    return DateHints(tuple(dict.fromkeys(phrases))[:8], tuple(dict.fromkeys(years))[:8])
