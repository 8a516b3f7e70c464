"""What the pages say in Russian: the names of ui.wording that hold words, each written for a
Russian reader, and the same functions with Russian sentences (plural forms by number).

Names that hold no words (commands, escaping, the default gallery, a score's digits) are
ui.wording's own, imported here so ``ui.lang.wording_for("ru")`` answers every name a page asks
ui.wording for. Numbers keep the decimal point the score bars use. As in ui.wording, a sentence
that holds a person's text is plain text for st.text.

Nothing here imports torch or Streamlit.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, TypeVar

from core.foundation.errors import Problem
from core.measure.reports import PROVENANCE
from ui.wording import (
    TRAIN_COMMAND,
    default_gallery,
    escape_markdown,
    format_score,
    project_path,
)

if TYPE_CHECKING:
    from core.bundle import ModelBundle
    from core.measure.reports import MetricsReport

T = TypeVar("T")
__all__ = ["TRAIN_COMMAND", "default_gallery", "escape_markdown", "format_score", "project_path"]


def plural(count: int, one: T, few: T, many: T) -> T:
    """The noun's form for a count: 1 фотография, 2 фотографии, 5 фотографий (11-14 take 'many')."""
    tail, tens = abs(count) % 10, abs(count) % 100
    if tail == 1 and tens != 11:
        return one
    if 2 <= tail <= 4 and not 12 <= tens <= 14:
        return few
    return many


def number(count: int) -> str:
    """A whole number as Russian writes it: 6 999 (a no-break space between thousands)."""
    return f"{count:,}".replace(",", "\u00a0")


def _photos(count: int) -> str:
    return f"{number(count)} {plural(count, 'фотография', 'фотографии', 'фотографий')}"


PROBLEM_HEADLINES: dict[Problem, tuple[str, str]] = {
    Problem.NO_MODEL: ("**Модель ещё не обучена.** Для поиска нужны модель и индексы фотографий. "
                       "Соберите их (несколько минут на процессоре ноутбука) командой:",
                       ":material/model_training:"),
    Problem.NOT_INDEXED: ("**Эта галерея ещё не проиндексирована.**", ":material/photo_library:"),
    Problem.GALLERY_UNUSABLE: ("**Эту галерею нельзя использовать в нынешнем виде.**",
                               ":material/photo_library:"),
    Problem.NO_METRICS: ("**Отчёта с метриками ещё нет.** Создайте его командой:", ":material/analytics:"),
    Problem.METRICS_UNREADABLE: ("**Отчёт с метриками не читается.**", ":material/analytics:"),
    Problem.BAD_QUERY: ("**Такой запрос выполнить нельзя.**", ":material/edit_note:"),
    Problem.BAD_DATA: ("**Не удалось прочитать набор данных.**", ":material/database:"),
    Problem.CANNOT_RUN: ("**Модель пока не может работать на этом компьютере.**", ":material/build:"),
    Problem.BAD_PHOTO: ("**Эту фотографию нельзя использовать.**", ":material/broken_image:"),
    Problem.NOT_IN_GALLERY: ("**Этой фотографии нет в галерее.**", ":material/image_not_supported:"),
    Problem.INDEXING: ("**Эти фотографии не удалось проиндексировать.**", ":material/photo_library:"),
    Problem.NOT_EXPLAINABLE: ("**Не удаётся показать, где совпала эта фотография.**",
                              ":material/visibility_off:"),
    Problem.BAD_REQUEST: ("**На этот запрос ответить нельзя.**", ":material/error:"),
    Problem.ENGINE: ("**Не удалось запустить движок индексации.**", ":material/hub:"),
    Problem.BAD_FILTER: ("**Фильтр в этом запросе записан в непонятной поиску форме.**",
                         ":material/filter_alt_off:"),
    Problem.UPLOAD_LIMIT: ("**Место для ваших загрузок закончилось.**", ":material/block:"),
}
UNEXPECTED_HEADLINE = "**Что-то пошло не так.**"
PROBLEM_HINTS: dict[Problem, str] = {
    Problem.NOT_IN_GALLERY: "Выберите фотографию из результатов или ищите по тексту.",
}
# core's own messages that a Russian page can say in Russian (the rest stay as core wrote them)
CORE_MESSAGES: dict[str, str] = {
    "Search works in English for now; please describe the scene in English.":
        "Пока поиск понимает только английский: опишите сцену по-английски.",
    "Please type a search as text.": "Введите запрос текстом.",
    "Please type what you are looking for, e.g. “two dogs running on snow”.":
        "Напишите, что ищете, например «две собаки бегут по снегу».",
    ("Search works in English and Russian; please describe the scene in one of them. "
     "Поиск понимает английский и русский: опишите сцену на одном из них."):
        "Поиск понимает английский и русский: опишите сцену на одном из них.",
    "Please describe the scene in words; the query has no letters.":
        "Опишите сцену словами: в запросе нет ни одной буквы.",
}
# core's messages that carry a value (a length, a path, a name), as patterns
CORE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"That query is (\d+) characters long; please keep it under (\d+)\.", re.DOTALL),
     "Запрос слишком длинный ({0} зн.): сократите его до {1} знаков."),
    (re.compile(r"No trained model at (.+)\. Build it with: (.+)", re.DOTALL),
     "Обученной модели нет: {0}. Соберите её командой: {1}"),
    (re.compile(r"There is no photo named (.+) in the (.+) gallery\.", re.DOTALL),
     "Фотографии с именем {0} нет в галерее {1}."),
)

EXAMPLE_QUERIES: tuple[str, ...] = (
    "Собака в воде",
    "Велосипед на тропе",
    "Людная улица",
    "Сёрфер на волне",
)

SCORE_LEGEND = (
    "Оценка 0–1: как, скорее всего, оценили бы совпадение эксперты и участники краудсорсинга, по "
    "шкале обучения: 1 полное совпадение · 0.67 мелкие ошибки · 0.33 крупные ошибки · 0 не совпадает."
)
EXPLAIN_HELP = (
    "Раскрашивает каждую фотографию по тому, где она совпала с запросом: бледно-жёлтым — где "
    "больше всего, тёмно-фиолетовым — где меньше всего (фотография делится на сетку 7×7). Цвета "
    "сравнивают части одной фотографии; насколько совпала вся фотография, говорит оценка."
)
EXPLAIN_LEGEND = ("Бледно-жёлтым — где фотография больше всего совпала с запросом, тёмно-фиолетовым — "
                  "где меньше всего.")
BEST_MATCH = "Лучше всего: "  # short: one line of a result card at 1280 px
SIMILARITY_LEGEND = (
    "Сходство: косинус между векторами двух фотографий в пространстве поиска (1 — один и тот же "
    "вектор). Это не оценка 0–1 текстового поиска: та откалибрована на оценённых парах «описание — "
    "фотография», а пары фотографий никто не оценивал."
)
LINK_SET_ASIDE = "**Часть ссылки, открывшей эту страницу, не учтена:**"
LINK_UNAVAILABLE = ("Поиском по загруженной фотографии нельзя поделиться ссылкой: фотография остаётся на "
                    "этом сервере.")
LEGAL_NOTE = (
    "Фотографии, на которых наш классификатор видит ребёнка, не показываются никогда: этого "
    "требует местное законодательство об изображениях детей."
)
DISCLAIMER_TEXT = "Это изображение недоступно в вашей стране в соответствии с местным законодательством"
WITHHELD_PHOTO = "Фотография скрыта: на ней может быть ребёнок (местное законодательство)."
GALLERY_LABELS = {
    "all": "Все фотографии",
    "test": "Тест практикума",
    "train": "Обучение практикума",
    "uploads": "Ваши загрузки",
}
# core.search.details' names for the parts of the dataset, and core.search.explain's places
SOURCES = {"practicum test": "тест практикума", "practicum train": "обучение практикума",
           "extra corpus": "дополнительный корпус"}
_PLACES = {"top": "вверху", "bottom": "внизу", "left": "слева", "right": "справа", "centre": "в центре"}


def core_message(message: str) -> str:
    """core's message in Russian where this table has it, else as core wrote it."""
    if message in CORE_MESSAGES:
        return CORE_MESSAGES[message]
    for pattern, russian in CORE_PATTERNS:
        if (found := pattern.fullmatch(message)) is not None:
            return russian.format(*found.groups())
    return message


def source_label(source: str) -> str:
    return SOURCES.get(source, source)


def match_place(where: str) -> str:
    """Where a photo matched most ('top left' -> 'вверху слева')."""
    return " ".join(_PLACES.get(word, word) for word in where.split())


def results_for(query: str) -> str:
    return f"Результаты по запросу «{query}»"


def photos_like(name: str) -> str:
    if name == "uploaded photo":  # core.search.service.UPLOAD_LABEL (that module imports torch)
        return "Похожие на загруженную фотографию"
    return f"Похожие на «{name}»"


def result_line(name: str, rank: int, score: float | None, similarity: float) -> str:
    scored = "" if score is None else f" · оценка {format_score(score)}"
    return f"{name} · место {rank}{scored} · косинус {similarity:.3f}"


def gallery_label(name: str) -> str:
    return GALLERY_LABELS.get(name, f"Галерея «{name}»")


def took_note(took_ms: float, shown: int | None, gallery_size: int | None = None) -> str:
    took = f"поиск занял {number(round(took_ms))} мс"
    if shown is None:
        return took
    among = f" из {number(gallery_size)}" if gallery_size else ""
    return f"{_photos(shown)}{among} · {took}"


def similarity_text(similarity: float) -> str:
    return f"сходство {similarity:.2f}"


def withheld_note(withheld: int, top_k: int) -> str | None:
    if withheld <= 0:
        return None
    hidden, them = plural(withheld, ("скрыта", "на ней"), ("скрыты", "на них"), ("скрыты", "на них"))
    return (f"{_photos(withheld)} из первых {number(top_k)} {hidden}: {them} может быть ребёнок, а "
            "показывать такие фотографии нам не позволяет местное законодательство.")


def model_facts(bundle: ModelBundle) -> list[tuple[str, str]]:
    """The rows of ui.wording.model_facts in Russian (names of encoders and the classifier's
    description are core's, in English)."""
    info: dict[str, Any] = dict(bundle.info or {})
    dim = bundle.tower.dim
    rows = [
        ("Модель релевантности", str(info.get("model", "two_tower")).replace("_", "-")),
        ("Кодировщик текста", bundle.text_encoder),
        ("Кодировщик изображений", bundle.image_encoder),
        ("Лемматизация запроса", "вкл." if bundle.lemmatize else "выкл."),
        ("Общее пространство", f"{dim} {plural(dim, 'измерение', 'измерения', 'измерений')}"),
    ]
    if "corpus_pairs" in info:
        rows.append(("Пары «подпись — фото» для обучения", number(int(info["corpus_pairs"]))))
    if "calibration_pairs" in info:
        rows.append(("Оценённые пары для калибровки 0–1", number(int(info["calibration_pairs"]))))
    child = bundle.child_classifier
    rows.append(("Классификатор фотографий детей", f"{child.description}; полнота ≥ "
                 f"{child.target_recall:.2f} с доверием {child.confidence:.0%}"))
    if "child_threshold" in info:
        rows.append(("Порог классификатора фотографий детей", f"{float(info['child_threshold']):.3g}"))
    return rows


def upload_summary(report: dict[str, Any]) -> str:
    parts = [f"В ваши загрузки добавлено: {_photos(report['added'])}"]
    if report["flagged"]:
        parts.append(f"скрыто из них: {number(report['flagged'])} (на них может быть ребёнок)")
    if report["unchanged"]:
        parts.append(f"уже были в галерее: {number(report['unchanged'])}")
    if report["skipped"]:
        parts.append(f"пропущено (не подходящее изображение): {number(len(report['skipped']))}")
    return "; ".join(parts) + ". Чтобы искать среди них, выберите «Ваши загрузки» в поле «Галерея»."


LEGAL_LABELS = {
    "query_recall": ("Пойманы запросы о детях", "Доля тестовых запросов о детях, получивших предупреждение"),
    "query_false_alarm": ("Заблокированы прочие запросы", "Доля прочих тестовых запросов, получивших "
                          "предупреждение"),
    "image_recall_holdout": ("Отмечены фото детей", "Доля отложенных фотографий детей, которые скрыты"),
    "image_withheld_nonchild_holdout": (
        "Скрыты прочие фото", "Доля отложенных фотографий без детей, скрытых всё равно"),
    "image_recall_holdout_worst_shift": (
        "Отмечены фото детей, худший сдвиг",
        "Наименьшая доля скрытых отложенных фотографий детей, когда каждую фотографию уменьшают, "
        "обрезают, вписывают с полями, пережимают, обесцвечивают или мельчат в рамке (по одному "
        "сдвигу за раз)"),
    "image_withheld_nonchild_holdout_worst_shift": (
        "Скрыты прочие фото, худший сдвиг",
        "Наибольшая доля скрытых отложенных фотографий без детей при одном из этих сдвигов"),
}
SPLIT_LABELS = {"practicum_test": "Тест практикума", "holdout": "Отложенная выборка"}
_KINDS = {"clean": "чистая оценка", "selection": "оценка отбора"}
# core.measure.reports.PROVENANCE's reasons, by section
_WHY = {
    "relevance": "по RMSE кросс-валидации настраивали двухбашенную модель, и по этой таблице выбрана "
                 "модель по умолчанию",
    "expert_zero_shot_kendall_tau_c": "по ней настраивали двухбашенную модель",
    "retrieval.practicum_test": "кодировщики и настройки двухбашенной модели выбирали отчасти по её R@1",
    "retrieval.holdout": "отложенные фотографии и подписи ни на какой выбор не влияли; оценка читает "
                         "их, когда модель уже зафиксирована",
    "lemmatization": "по ней решали, лемматизировать ли запросы",
    "legal.query": "тесты держат словарь детских слов на этих запросах, поэтому найденные на них "
                   "промахи исправлены",
    "legal.image_holdout": "правило порога (полнота ≥ 0.98 с доверием 95%) принято после того, как "
                           "прочтение отложенной выборки показало, что прежнее правило не дотягивает; "
                           "кодировщик и классификатор в работе выбраны вне фолда, до этого "
                           "прочтения, хотя и после прочтений прежних классификаторов",
    "legal.classifiers": "по ней выбран классификатор фотографий детей, который в работе",
    "legal.image_shifts": "правило, которое держится при сдвигах, выбрано только на обучающих "
                          "фотографиях, до того как отложенную выборку прочитали при каком-либо сдвиге",
}


def provenance(section: str) -> str:
    """How clean a section's figures are, in Russian ('Чистая оценка: ...')."""
    kind = PROVENANCE[section]
    return f"{_KINDS.get(kind.kind, kind.kind).capitalize()}: {_WHY.get(section, kind.why)}."


def retrieval_sizes(report: MetricsReport) -> str:
    parts = []
    for row in report.retrieval.itertuples(index=False):
        if not (math.isnan(row.queries) or math.isnan(row.images)):
            queries, images = int(row.queries), int(row.images)
            parts.append(f"{SPLIT_LABELS.get(row.split, row.label)}: {number(queries)} "
                         f"{plural(queries, 'описание', 'описания', 'описаний')} к {_photos(images)}")
    return "; ".join(parts)


def retrieval_provenance(report: MetricsReport) -> str:
    """Which sets' figures are clean, and why."""
    parts = []
    for row in report.retrieval.itertuples(index=False):
        kind = PROVENANCE.get(f"retrieval.{row.split}")
        if kind:
            parts.append(f"{SPLIT_LABELS.get(row.split, row.label)}: {_KINDS.get(kind.kind, kind.kind)} "
                         f"({_WHY.get(f'retrieval.{row.split}', kind.why)}).")
    return " ".join(parts)


def legal_rows(report: MetricsReport) -> list[tuple[str, str, str]]:
    return [(label, f"{report.legal[key] * 100:.1f}%", meaning)
            for key, (label, meaning) in LEGAL_LABELS.items() if key in report.legal]
