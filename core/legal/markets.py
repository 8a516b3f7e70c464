"""The law by country: which market the product serves and what its row of configs/markets.toml
says (does the child rule apply; does a recorded parental consent release a photo).

The rows are product settings, not legal advice (see the file). A photo is withheld where the
rule applies when the child classifier flags it or its description names a child (a
description only adds a restriction, it never lifts the image check), unless consent was
recorded for it and the market's row lets consent release it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.foundation.settings import SettingError, Settings


class MarketsFileError(SettingError):
    """configs/markets.toml (or $WITHSENSE_MARKETS) is missing or malformed."""


@dataclass(frozen=True)
class Market:
    name: str
    child_rule: bool  # photos that may show a child are withheld, child queries get the disclaimer
    consent_releases: bool  # a recorded parental consent releases a withheld photo
    note: str = ""

    @property
    def strictest(self) -> bool:
        return self.child_rule and not self.consent_releases


STRICT = Market("strict", True, False, "The rule applies and nothing releases a photo.")


def load_markets(path: Path) -> tuple[dict[str, Market], str]:
    """(every market by name, the default market's name) from a markets file."""
    try:
        table = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MarketsFileError(f"{path}: cannot read the markets table ({exc})") from exc
    markets: dict[str, Market] = {}
    for name, row in (table.get("markets") or {}).items():
        row = row if isinstance(row, dict) else {}
        flags = {key: row.get(key) for key in ("child_rule", "consent_releases")}
        if not all(isinstance(value, bool) for value in flags.values()):
            raise MarketsFileError(f"{path}: market {name!r} needs child_rule and consent_releases, "
                                   "each true or false")
        markets[name] = Market(name, flags["child_rule"], flags["consent_releases"], str(row.get("note", "")))
    default = table.get("default")
    if default not in markets or not markets[default].strictest:
        raise MarketsFileError(f"{path}: default must name a market where child_rule = true and "
                               f"consent_releases = false (the strictest), got {default!r}")
    return markets, default


def market_of(settings: Settings) -> Market:
    """The market the settings name ($WITHSENSE_MARKET), or the table's strictest default."""
    markets, default = load_markets(settings.markets_file)
    name = settings.market or default
    if name not in markets:
        raise SettingError(f"WITHSENSE_MARKET={name!r} is not in {settings.markets_file}: it must be "
                           f"one of {', '.join(sorted(markets))}")
    return markets[name]


def withheld(image_flags: np.ndarray, described_child: np.ndarray, consent: np.ndarray,
             market: Market) -> np.ndarray:
    """Which photos the market withholds: flagged by the image check or named a child by their
    description, where the rule applies, unless consent was recorded and the market honours it."""
    held = np.asarray(image_flags, bool) | np.asarray(described_child, bool)
    if not market.child_rule:
        return np.zeros_like(held)
    if market.consent_releases:
        held &= ~np.asarray(consent, bool)
    return held
