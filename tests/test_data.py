"""core.data.dataset: every bad input gets a DataError naming the file (and line); real data adds up."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data import dataset as data
from core.data.dataset import DataError

N_PAIRS = 59  # train rows copied into the small practicum: enough to include a quoted comma


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(lines), encoding="utf-8")


@pytest.fixture
def mini(tmp_path: Path, practicum_dir: Path) -> Path:
    """A small, valid practicum folder built from the first lines of the real files.

    Image folders hold empty placeholders: the loaders only check that listed names exist.
    """
    root = tmp_path / "practicum"
    root.mkdir()
    train = _lines(practicum_dir / "train_dataset.csv")[: N_PAIRS + 1]
    _write(root / "train_dataset.csv", train)
    expert = _lines(practicum_dir / "ExpertAnnotations.tsv")[:N_PAIRS]
    _write(root / "ExpertAnnotations.tsv", expert)
    images = {line.split("\t")[0] for line in expert}
    crowd = [ln for ln in _lines(practicum_dir / "CrowdAnnotations.tsv") if ln.split("\t")[0] in images]
    _write(root / "CrowdAnnotations.tsv", crowd)
    (root / "train_images").mkdir()
    for name in images:
        (root / "train_images" / name).touch()
    queries = _lines(practicum_dir / "test_queries.csv")[:21]
    _write(root / "test_queries.csv", queries)
    test_images = sorted({ln.rstrip("\n").split("|")[-1] for ln in queries[1:]})
    _write(root / "test_images.csv", ["image\n"] + [f"{name}\n" for name in test_images])
    (root / "test_images").mkdir()
    for name in test_images:
        (root / "test_images" / name).touch()
    return root


def _replace_line(path: Path, line: int, text: str) -> None:
    lines = _lines(path)
    lines[line - 1] = text if text.endswith("\n") else text + "\n"
    _write(path, lines)


def _set_field(path: Path, line: int, field: int, value: str, sep: str = "\t") -> None:
    fields = _lines(path)[line - 1].rstrip("\n").split(sep)
    fields[field] = value
    _replace_line(path, line, sep.join(fields))


def _raises(match_all: list[str], call: Callable[..., object], *args: object) -> str:
    """Run ``call`` expecting a DataError whose message holds every part of ``match_all``."""
    with pytest.raises(DataError) as info:
        call(*args)
    message = str(info.value)
    for part in match_all:
        assert part in message, f"{part!r} not in {message!r}"
    return message


# ---------------------------------------------------------------- the small folder is valid


def test_small_copy_loads(mini: Path) -> None:
    table, report = data.load_relevance(mini)
    assert report.expert_pairs == N_PAIRS
    assert report.expert_majority + report.expert_dropped_no_majority == N_PAIRS
    assert len(table) == report.expert_majority
    assert len(data.load_test_queries(mini)) == 20


# ---------------------------------------------------------------- missing things


@pytest.mark.parametrize("name", ["train_dataset.csv", "ExpertAnnotations.tsv", "CrowdAnnotations.tsv"])
def test_missing_file(mini: Path, name: str) -> None:
    (mini / name).unlink()
    _raises([name, "file not found"], data.load_relevance, mini)


def test_missing_column(mini: Path) -> None:
    _replace_line(mini / "train_dataset.csv", 1, "image,query_id,text")
    _raises(["train_dataset.csv", "line 1", "missing column(s) query_text"], data.load_train_pairs, mini)


def test_missing_image_folder(mini: Path) -> None:
    shutil.rmtree(mini / "train_images")
    _raises(["train_images", "image folder not found", "train_dataset.csv"], data.load_relevance, mini)


def test_image_listed_but_absent(mini: Path) -> None:
    lines = _lines(mini / "train_dataset.csv")
    name = lines[10].split(",")[0]
    first_line = next(i for i, ln in enumerate(lines, start=1) if ln.startswith(name + ","))
    (mini / "train_images" / name).unlink()
    _raises(["train_dataset.csv", f"line {first_line}", name, "absent"], data.load_relevance, mini)


def test_test_image_listed_but_absent(mini: Path) -> None:
    name = _lines(mini / "test_queries.csv")[1].split("|")[3].strip()
    (mini / "test_images" / name).unlink()
    _raises(["test_queries.csv", name, "absent"], data.load_test_queries, mini)
    assert name in data.load_test_queries(mini, check_files=False)["image"].tolist()


# ---------------------------------------------------------------- wrong separator / shape


def test_test_queries_saved_with_commas(mini: Path) -> None:
    frame = pd.read_csv(mini / "test_queries.csv", sep="|", index_col=0)
    frame.to_csv(mini / "test_queries.csv", sep=",")
    message = _raises(["test_queries.csv", "line 1", "missing column"], data.load_test_queries, mini)
    assert "'|'" in message and "looks separated by ','" in message


def test_expert_saved_with_commas(mini: Path) -> None:
    path = mini / "ExpertAnnotations.tsv"
    _write(path, [ln.replace("\t", ",") for ln in _lines(path)])
    _raises(["ExpertAnnotations.tsv", "line 1", "1 field(s) where 5 are expected",
             "looks separated by ','"], data.load_expert, mini)


def test_row_with_too_few_fields(mini: Path) -> None:
    path = mini / "ExpertAnnotations.tsv"
    _replace_line(path, 7, "\t".join(_lines(path)[6].rstrip("\n").split("\t")[:4]))
    _raises(["ExpertAnnotations.tsv", "line 7", "4 field(s) where 5 are expected"], data.load_expert, mini)


def test_unquoted_comma_in_text(mini: Path) -> None:
    _set_field(mini / "train_dataset.csv", 5, 2, "A dog, a ball", sep=",")
    _raises(["train_dataset.csv", "line 5", "4 field(s) where 3"], data.load_train_pairs, mini)


def test_empty_field(mini: Path) -> None:
    _set_field(mini / "train_dataset.csv", 4, 2, "", sep=",")
    _raises(["train_dataset.csv", "line 4", "column 'query_text' is empty"], data.load_train_pairs, mini)


def test_blank_lines_are_skipped_and_lines_stay_true(mini: Path) -> None:
    path = mini / "ExpertAnnotations.tsv"
    lines = _lines(path)
    _write(path, [*lines[:2], "\n", *lines[2:], "\n\n"])
    assert len(data.load_expert(mini)) == N_PAIRS
    _set_field(path, 6, 3, "9")  # file line 6 after the inserted blank line
    _raises(["ExpertAnnotations.tsv", "line 6", "got 9"], data.load_expert, mini)


# ---------------------------------------------------------------- values


def test_duplicate_rows(mini: Path) -> None:
    path = mini / "ExpertAnnotations.tsv"
    lines = _lines(path)
    _write(path, [*lines, lines[4]])
    _raises(["ExpertAnnotations.tsv", f"line {len(lines) + 1}", "duplicate row", "first seen on line 5"],
            data.load_expert, mini)


def test_duplicate_train_pair(mini: Path) -> None:
    path = mini / "train_dataset.csv"
    lines = _lines(path)
    _write(path, [*lines, lines[3]])
    _raises(["train_dataset.csv", f"line {len(lines) + 1}", "duplicate row"], data.load_train_pairs, mini)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("x", "holds 'x', not a number"), ("", "is empty"), ("nan", "not a number"),
     ("5", "expert_2 must be a whole number from 1 to 4, got 5"),
     ("0", "expert_2 must be a whole number from 1 to 4, got 0"),
     ("2.5", "whole number")],
)
def test_bad_expert_score(mini: Path, value: str, expected: str) -> None:
    _set_field(mini / "ExpertAnnotations.tsv", 3, 3, value)
    _raises(["ExpertAnnotations.tsv", "line 3", expected], data.load_expert, mini)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [(2, "1.5", "share_yes must be a number from 0 to 1"), (2, "yes", "not a number"),
     (3, "-1", "n_yes must be a whole number")],
)
def test_bad_crowd_values(mini: Path, field: int, value: str, expected: str) -> None:
    _set_field(mini / "CrowdAnnotations.tsv", 2, field, value)
    _raises(["CrowdAnnotations.tsv", "line 2", expected], data.load_crowd, mini)


# ---------------------------------------------------------------- encoding and emptiness


@pytest.mark.parametrize("content", [b"", b"\n \n"])
def test_empty_file(mini: Path, content: bytes) -> None:
    (mini / "CrowdAnnotations.tsv").write_bytes(content)
    _raises(["CrowdAnnotations.tsv", "file is empty"], data.load_crowd, mini)


def test_header_only(mini: Path) -> None:
    _write(mini / "train_dataset.csv", ["image,query_id,query_text\n"])
    _raises(["train_dataset.csv", "header but no data rows"], data.load_train_pairs, mini)


def test_not_utf8(mini: Path) -> None:
    path = mini / "train_dataset.csv"
    raw = path.read_bytes().split(b"\n")
    raw[3] = raw[3].replace(b"A ", "Á ".encode("latin-1"), 1)
    path.write_bytes(b"\n".join(raw))
    _raises(["train_dataset.csv", "line 4", "not UTF-8"], data.load_train_pairs, mini)


def test_utf8_bom_is_accepted(mini: Path) -> None:
    path = mini / "train_dataset.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert len(data.load_train_pairs(mini))


# ---------------------------------------------------------------- images and other files


def test_check_images_exist_default_lines(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").touch()
    _raises(["list.csv", "line 3", "'b.jpg'"], data.check_images_exist, ["a.jpg", "b.jpg"], tmp_path,
            tmp_path / "list.csv")


def test_flickr_token_bad_line(tmp_path: Path, flickr_dir: Path) -> None:
    (tmp_path / "images").mkdir()
    lines = _lines(flickr_dir / "Flickr8k.token.txt")[:6]
    lines[3] = lines[3].replace("\t", " ", 1)
    _write(tmp_path / "Flickr8k.token.txt", lines)
    _raises(["Flickr8k.token.txt", "line 4", "<image>#<n><TAB><caption>"], data.load_flickr_captions,
            tmp_path)


def test_flickr_captions_keep_only_present_images(tmp_path: Path, flickr_dir: Path) -> None:
    lines = _lines(flickr_dir / "Flickr8k.token.txt")[:10]  # two photos, five captions each
    _write(tmp_path / "Flickr8k.token.txt", lines)
    (tmp_path / "images").mkdir()
    kept = lines[0].split("#")[0]
    (tmp_path / "images" / kept).touch()
    frame = data.load_flickr_captions(tmp_path)
    assert list(frame.columns) == ["image", "caption_id", "caption"]
    assert set(frame["image"]) == {kept} and len(frame) == 5


def test_holdout_duplicate_caption_id(tmp_path: Path) -> None:
    # Built by hand: the real holdout is read only by the final evaluation.
    rows = ["image\tcaption_id\tcaption\n", "a.jpg\ta.jpg#0\tA dog .\n", "a.jpg\ta.jpg#0\tA cat .\n"]
    _write(tmp_path / "captions.tsv", rows)
    _raises(["captions.tsv", "line 3", "duplicate row for (a.jpg#0)"], data.load_holdout, tmp_path)


# ---------------------------------------------------------------- aggregation


def test_majority_vote_by_hand() -> None:
    expert = pd.DataFrame(
        {"expert_1": [1, 2, 3, 1, 4, 2], "expert_2": [1, 3, 2, 2, 4, 2], "expert_3": [2, 3, 3, 3, 4, 1]},
        index=[10, 11, 12, 13, 14, 15],
    )
    votes = data.majority_vote(expert)
    assert list(votes.index) == [10, 11, 12, 13, 14, 15]
    assert votes.loc[[10, 11, 12, 14, 15]].tolist() == [1, 3, 3, 4, 2]
    assert np.isnan(votes.loc[13])


def test_build_targets_by_hand() -> None:
    expert = pd.DataFrame({"image": ["a", "a", "b", "b"], "query_id": ["q1", "q2", "q1", "q3"],
                           "expert_1": [4, 1, 2, 1], "expert_2": [4, 2, 3, 1], "expert_3": [3, 3, 4, 1]})
    crowd = pd.DataFrame({"image": ["a"], "query_id": ["q1"], "share_yes": [0.5], "n_yes": [1], "n_no": [1]})
    train = pd.DataFrame({"image": ["a", "b"], "query_id": ["q1", "q2"], "query_text": ["t1", "t2"]})
    table, report = data.build_targets(train, expert, crowd)
    assert (report.expert_pairs, report.expert_majority, report.expert_dropped_no_majority) == (4, 2, 2)
    assert report.pairs_without_text == 1  # b/q3 has a majority but no text
    assert (report.with_crowd, report.expert_only) == (1, 0)
    assert table["target"].tolist() == pytest.approx([0.6 * 1.0 + 0.4 * 0.5])
    with pytest.raises(ValueError, match="expert_weight"):
        data.build_targets(train, expert, crowd, expert_weight=0, crowd_weight=0)


# ---------------------------------------------------------------- the real data


@pytest.fixture(scope="module")
def relevance(practicum_dir: Path) -> tuple[pd.DataFrame, data.TargetReport]:
    return data.load_relevance(practicum_dir)


def test_real_relevance_counts(relevance: tuple[pd.DataFrame, data.TargetReport]) -> None:
    table, report = relevance
    assert report.expert_pairs == 5822
    assert report.expert_majority + report.expert_dropped_no_majority == report.expert_pairs
    assert report.expert_dropped_no_majority > 0
    assert report.crowd_pairs == 47830
    assert report.with_crowd + report.expert_only == len(table)
    assert len(table) + report.pairs_without_text == report.expert_majority


def test_real_relevance_targets(relevance: tuple[pd.DataFrame, data.TargetReport]) -> None:
    table, _ = relevance
    assert table["target"].between(0, 1).all()
    expert = (table["expert_majority"] - 1) / 3
    assert np.allclose(table["expert_score"], expert)
    both = table["crowd_share"].notna()
    assert both.any() and (~both).any()
    assert np.allclose(table.loc[both, "target"], 0.6 * expert[both] + 0.4 * table.loc[both, "crowd_share"])
    assert np.allclose(table.loc[~both, "target"], expert[~both])


def test_real_files_parse_quotes(practicum_dir: Path) -> None:
    train = data.load_train_pairs(practicum_dir)
    assert len(train) == 5822
    assert train["query_text"].str.contains(", white tube", regex=False).any()  # a quoted comma
    queries = data.load_test_queries(practicum_dir)
    assert len(queries) == 500 and list(queries.columns) == ["query_id", "query_text", "image"]
    assert queries["query_text"].str.contains('" ADHD "', regex=False).any()  # quotes kept as text
    assert re.fullmatch(r".+\.jpg#\d", queries["query_id"].iloc[0])


def test_validation_photos_are_a_fixed_draw_of_at_most_half(flickr_dir: Path) -> None:
    names = sorted(p.name for p in (flickr_dir / "images").iterdir())
    held = data.validation_photos(names, seed=42)
    assert len(held) == data.VALIDATION_PHOTOS and held <= set(names)
    assert data.validation_photos(reversed(names), seed=42) == held  # order does not matter
    assert data.validation_photos(names, seed=7) != held
    assert len(data.validation_photos(names[:10], seed=42)) == 5  # never more than half
