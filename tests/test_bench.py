"""The benchmark runs end to end on a tiny gallery and reports what the CLI prints."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import require

from core.foundation.settings import Settings
from core.gallery.store import read_gallery
from core.measure.bench import BenchError, run_bench


def test_tiny_bench(tmp_path: Path, trained_artifacts: Path, practicum_dir: Path,
                    monkeypatch: pytest.MonkeyPatch) -> None:
    require("pgserver")
    monkeypatch.setenv("WITHSENSE_TORCH_THREADS", "1")  # fast on a busy machine too (see run_bench)
    artifacts, data = tmp_path / "artifacts", tmp_path / "data"
    (artifacts / "galleries").mkdir(parents=True)
    data.mkdir()
    shutil.copy(trained_artifacts / "model.pt", artifacts / "model.pt")
    shutil.copy(trained_artifacts / "galleries" / "test.npz", artifacts / "galleries" / "test.npz")
    (data / "practicum").symlink_to(practicum_dir.resolve())
    settings = replace(Settings(), artifacts_dir=artifacts, data_dir=data, cache_dir=tmp_path / "cache",
                       index_url="")
    messages: list[str] = []
    result = run_bench(settings, sizes=[1000, 3000], backends=["exact", "pgvector"], queries=20, threads=2,
                       queries_per_thread=10, index_photos=8, pg_max_size=1000, log=messages.append,
                       big_photos=2, cli_runs=1)
    json.dumps(result)  # the CLI prints it as JSON
    latency = result["query_latency_ms"]
    assert set(latency) == {"exact", "pgvector"} and set(latency["exact"]) == {"1000", "3000"}
    assert set(latency["pgvector"]) == {"1000"} and "3000" in result["skipped"]["pgvector"]
    assert 0 < latency["exact"]["1000"]["p50"] <= latency["exact"]["1000"]["p95"]
    concurrency = result["concurrency"]
    assert concurrency["threads"] == 2 and concurrency["queries"] == 20 and concurrency["errors"] == 0
    assert result["concurrency_by_backend"]["pgvector"]["errors"] == 0 and concurrency["qps"] > 0
    assert result["peak_rss_mb"] > 0 and "CPU cores" in result["machine"] and messages
    assert result["real_photos"] == len(read_gallery(Settings(artifacts_dir=artifacts), "test").ids)
    assert result["indexing_photos_per_s"] > 0
    assert result["indexing"]["photos"] == 8 and result["indexing"]["failures"] == 0
    stages = result["indexing_stages"]
    assert stages["photos"] == 8 and stages["largest"] in stages["ms_per_photo"]
    assert {"read and decode", "resize and normalise"} <= set(stages["ms_per_photo"])
    assert any(stage.startswith("network ") for stage in stages["ms_per_photo"])
    assert all(ms > 0 for ms in stages["ms_per_photo"].values())
    big = result["big_photos"]
    assert big["photos"] == 2 and big["failures"] == 0 and big["size"] == "6000x4000"
    assert big["photos_per_s"] > 0 and big["memory_added_mb"] >= 0
    cold = result["cli_cold_start"]
    assert cold["runs"] == 1 and "error" not in cold, cold
    assert cold["wall_s_median"] > cold["load_ms_median"] / 1000 > cold["took_ms_median"] / 1000 > 0
    recall = result["recall_at_10_test"]  # percent over the 500 test queries: HNSW may miss a near tie
    assert recall["exact"] is not None and 20 < recall["exact"] <= 100
    assert recall["exact"] - 1 <= recall["pgvector"] <= recall["exact"] + 1
    assert 90 <= result["agreement_at_10"]["1000"] <= 100  # HNSW's top 10 against exact search's


def test_bad_parameters(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="unknown backend"):
        run_bench(Settings(artifacts_dir=tmp_path), backends=["faiss"])
    with pytest.raises(BenchError, match="positive"):
        run_bench(Settings(artifacts_dir=tmp_path), sizes=[0])
