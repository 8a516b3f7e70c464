"""A photo's facts: what its camera recorded (EXIF) and what its photographer wrote (IPTC, XMP, a
folder's sidecar table, the upload form).

Read with Pillow: ``Image.getexif`` for EXIF (IFD0, the Exif IFD, the GPS IFD), ``getxmp`` for XMP
(it parses with defusedxml, so an XML bomb is refused) and ``IptcImagePlugin.getiptcinfo`` for
IPTC. Each block is read on its own and anything wrong in it (broken, truncated, hostile, absurdly
long) only costs that block's facts: reading facts never stops indexing. Facts are plain JSON
values (a dict per photo, only the fields a photo has), so the gallery store keeps them as they
are.
"""

from __future__ import annotations

import math
import re
import unicodedata
import warnings
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from PIL import Image, IptcImagePlugin

from core.legal.lexicon import query_child_terms

MAX_TEXT = 2000  # characters kept of one written field; a longer one is cut
MAX_KEYWORDS = 64
MAX_KEYWORD = 100
# Facts shown in a result's details, in this order, with their labels.
LABELS = (("title", "Title"), ("caption", "Caption"), ("description", "Description"),
          ("keywords", "Keywords"), ("camera", "Camera"), ("lens", "Lens"), ("taken", "Taken"),
          ("exposure", "Exposure"), ("aperture", "Aperture"), ("iso", "ISO"),
          ("focal_length", "Focal length"), ("place", "Place"), ("gps", "GPS"), ("size", "Pixels"),
          ("orientation", "Orientation"), ("credit", "Credit"), ("consent", "Consent"))


def clean_text(value: object, limit: int = MAX_TEXT) -> str:
    """Text safe to keep and show: bytes decoded (UTF-8, else Latin-1), control characters
    dropped, spaces folded, cut at ``limit``."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            value = value.decode("latin-1")
    text = unicodedata.normalize("NFC", str(value))
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return re.sub(r"\s+", " ", text).strip()[:limit]


def _number(value: object) -> float | None:
    """An EXIF number: int, float, Pillow's IFDRational or a (numerator, denominator) pair."""
    try:
        if isinstance(value, tuple) and len(value) == 2:
            number = float(value[0]) / float(value[1])
        else:
            number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _degrees(value: object, ref: object) -> float | None:
    """A GPS coordinate (degrees, minutes, seconds) and its N/S/E/W reference as signed degrees."""
    if not isinstance(value, tuple) or len(value) != 3:
        return None
    parts = [_number(v) for v in value]
    if any(p is None for p in parts):
        return None
    degrees = parts[0] + parts[1] / 60 + parts[2] / 3600  # type: ignore[operator]
    return round(-degrees if clean_text(ref, 1).upper() in ("S", "W") else degrees, 6)


def _taken(value: object) -> str | None:
    """EXIF's 'YYYY:MM:DD HH:MM:SS' as ISO 8601, or None when it is not a real date."""
    text = clean_text(value, 40)
    for pattern in ("%Y:%m:%d %H:%M:%S", "%Y:%m:%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text[:19] if "%H" in pattern else text[:10], pattern).isoformat()
        except ValueError:
            continue
    return None


def _exif(img: Image.Image) -> dict[str, Any]:
    exif = img.getexif()
    found: dict[str, Any] = {}
    base = exif.get_ifd(0x8769)  # the Exif IFD: exposure, lens, date taken
    gps = exif.get_ifd(0x8825)
    for key, value in (("make", exif.get(0x010F)), ("model", exif.get(0x0110)),
                       ("lens", base.get(0xA434)), ("lens_make", base.get(0xA433))):
        text = clean_text(value, 200) if value is not None else ""
        if text:
            found[key] = text
    taken = _taken(base.get(0x9003) or base.get(0x9004) or exif.get(0x0132) or "")
    if taken:
        found["taken"] = taken
    exposure = _number(base.get(0x829A))
    if exposure and exposure > 0:
        found["exposure"] = f"1/{round(1 / exposure)} s" if exposure < 1 else f"{exposure:g} s"
    iso = base.get(0x8827)
    iso = iso[0] if isinstance(iso, tuple) and iso else iso
    if isinstance(iso, int) and 0 < iso < 10**7:
        found["iso"] = iso
    for key, tag in (("aperture", 0x829D), ("focal_length", 0x920A)):
        number = _number(base.get(tag))
        if number and 0 < number < 10**5:
            found[key] = round(number, 1)
    orientation = exif.get(0x0112)
    if isinstance(orientation, int) and 1 <= orientation <= 8:
        found["orientation"] = orientation
    latitude, longitude = _degrees(gps.get(2), gps.get(1)), _degrees(gps.get(4), gps.get(3))
    if latitude is not None and longitude is not None and abs(latitude) <= 90 and abs(longitude) <= 180:
        found["latitude"], found["longitude"] = latitude, longitude
    return found


def _alt_text(value: object) -> str:
    """The text of an XMP value: a plain string, a language alternative (x-default first) or a list."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        if "text" in value:
            return clean_text(value["text"])
        inner = value.get("Alt") or value.get("Seq") or value.get("Bag") or value.get("li")
        if inner is not None and inner is not value:
            return _alt_text(inner)
    if isinstance(value, list) and value:
        default = [v for v in value if isinstance(v, dict) and v.get("lang") == "x-default"]
        return _alt_text((default or value)[0])
    return ""


def _list(value: object) -> list[str]:
    if isinstance(value, dict):
        inner = value.get("Bag") or value.get("Seq") or value.get("li")
        return _list(inner) if inner is not None and inner is not value else []
    items = value if isinstance(value, list) else [value]
    return [_alt_text(v) for v in items[:MAX_KEYWORDS] if _alt_text(v)]


def _xmp(img: Image.Image) -> dict[str, Any]:
    packet = img.getxmp()  # {} without defusedxml or a packet; raises on a hostile one
    descriptions = packet.get("xmpmeta", {}).get("RDF", {}).get("Description", {})
    found: dict[str, Any] = {}
    for block in descriptions if isinstance(descriptions, list) else [descriptions]:
        if not isinstance(block, dict):
            continue
        for key, names in (("title", ("title",)), ("caption", ("description",)),
                           ("city", ("City",)), ("country", ("Country", "CountryName")),
                           ("credit", ("Credit",))):
            for name in names:
                text = _alt_text(block.get(name)) if name in block else ""
                if text and key not in found:
                    found[key] = text
        keywords = _list(block.get("subject"))
        if keywords:
            found.setdefault("keywords", keywords)
    return found


_IPTC = {(2, 5): "title", (2, 120): "caption", (2, 90): "city", (2, 101): "country", (2, 110): "credit"}


def _iptc(img: Image.Image) -> dict[str, Any]:
    info = IptcImagePlugin.getiptcinfo(img) or {}
    found: dict[str, Any] = {}
    for tag, key in _IPTC.items():
        value = info.get(tag)
        value = value[0] if isinstance(value, list) and value else value
        text = clean_text(value) if isinstance(value, bytes) else ""
        if text:
            found[key] = text
    words = info.get((2, 25))
    words = words if isinstance(words, list) else [words] if isinstance(words, bytes) else []
    keywords = [clean_text(w, MAX_KEYWORD) for w in words[:MAX_KEYWORDS] if isinstance(w, bytes)]
    if any(keywords):
        found["keywords"] = [k for k in keywords if k]
    return found


def read_facts(path: Path) -> dict[str, Any]:
    """A photo file's facts (only those it has). Never raises: a block that cannot be read adds
    nothing, and a file that cannot be opened has no facts."""
    try:
        img = Image.open(path)
    except Exception:  # unreadable, not an image, a decompression bomb: encoding says why
        return {}
    found: dict[str, Any] = {}
    with img, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns of corrupt EXIF: the block just adds less
        width, height = img.size
        if width > 0 and height > 0:
            found.update(width=int(width), height=int(height))
        # IPTC first, then XMP over it (XMP is where current tools write), then EXIF.
        for reader in (_iptc, _xmp, _exif):
            try:
                found.update(reader(img))
            except Exception:  # any failure of one block only costs its facts  # noqa: S112
                continue
    if "keywords" in found:
        found["keywords"] = [clean_text(k, MAX_KEYWORD) for k in found["keywords"]][:MAX_KEYWORDS]
    return found


def description_text(facts: Mapping[str, Any]) -> str:
    """What the photographer wrote: title, caption, description and keywords, as one text."""
    parts = [str(facts.get(k, "")) for k in ("title", "caption", "description")]
    parts.append(", ".join(facts.get("keywords", ())))
    return ". ".join(p for p in parts if p)


def finish(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The facts with ``child_terms``: the child words (English or Russian, core.legal.lexicon)
    found in what the photographer wrote. A description may only add a restriction."""
    done = {k: v for k, v in facts.items() if k != "child_terms"}
    text = description_text(done)
    terms = query_child_terms(text) if text else []
    if terms:
        done["child_terms"] = terms
    return done


def fact_lines(facts: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) of every fact a person reads in a result's details, as plain text. The
    GPS position is only said to be there: the pages never send where a photo was taken (the
    thumbnails carry pixels only), and its city and country say enough."""
    shown = dict(facts)
    camera = " ".join(str(facts[k]) for k in ("make", "model") if facts.get(k))
    if facts.get("make") and str(facts.get("model", "")).lower().startswith(str(facts["make"]).lower()):
        camera = str(facts["model"])  # "Canon Canon EOS 5D" reads as "Canon EOS 5D"
    shown.update(camera=camera, place=", ".join(str(facts[k]) for k in ("city", "country") if facts.get(k)),
                 keywords=", ".join(facts.get("keywords", ())))
    if "latitude" in facts:  # kept, never shown: the app does not tell where a photo was taken
        shown["gps"] = "position recorded (not shown)"
    if "width" in facts:
        shown["size"] = f"{facts['width']} x {facts['height']}"
    if "aperture" in facts:
        shown["aperture"] = f"f/{facts['aperture']:g}"
    if "focal_length" in facts:
        shown["focal_length"] = f"{facts['focal_length']:g} mm"
    shown["consent"] = "recorded" if facts.get("consent") else ""
    shown["taken"] = str(facts.get("taken", "")).replace("T", " ")
    return [(label, str(shown[key])) for key, label in LABELS if shown.get(key) not in (None, "", [])]
