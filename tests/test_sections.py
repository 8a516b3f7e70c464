"""`python -m core evaluate --only SECTION`: named sections measured again, the rest of
metrics.json kept; an unknown section is refused with the valid names."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from core.foundation.settings import Settings
from core.measure.sections import SECTIONS, UnknownSectionError, update_sections


def test_a_section_is_replaced_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps({"relevance": {"two_tower": {"rmse": 0.18}},
                                "hybrid_simulated": {"old": True}}))
    settings = replace(Settings(), artifacts_dir=tmp_path / "no-model")  # no trained model here
    metrics = update_sections(settings, ["hybrid_simulated"], path)
    assert metrics["relevance"] == {"two_tower": {"rmse": 0.18}}
    assert "old" not in metrics["hybrid_simulated"] and "not_measured" in metrics["hybrid_simulated"]
    assert metrics["sections_updated"]["hybrid_simulated"]["command"].endswith("--only hybrid_simulated")
    json.dumps(metrics)


def test_unknown_sections_and_a_missing_report_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text("{}")
    with pytest.raises(UnknownSectionError, match=", ".join(SECTIONS)):
        update_sections(Settings(), ["relevance"], path)
    with pytest.raises(Exception, match="python -m core evaluate"):
        update_sections(Settings(), ["hybrid_simulated"], tmp_path / "missing.json")
