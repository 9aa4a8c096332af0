import json
import subprocess
import sys

import pytest

from reelrec.cli import cold_start_rows, demo_models, main, run_demo


def test_demo_runs_every_model_and_prints_table(capsys, tmp_path):
    out = tmp_path / "demo.json"
    assert main(["demo", "--users", "300", "--videos", "200", "--quiet", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    rows = result["models"]
    assert [r["model"] for r in rows] == list(demo_models(0, 0))
    for row in rows:
        assert row["model"] in printed
        assert 0.0 <= row["ndcg@10"] <= 1.0 and 0.0 <= row["coverage"] <= 1.0 and row["fit_s"] >= 0
    assert [r["model"] for r in result["cold_start"]] == ["ItemKNN", "ContentKNN", "Hybrid"]
    assert "Cold start" in printed


def test_demo_personalised_models_beat_random():
    result = run_demo(
        n_users=600,
        n_videos=300,
        models=["Random", "Popularity", "EASE"],
        quiet=True,
        cold_start=False,
    )
    rows = {r["model"]: r for r in result["models"]}
    assert rows["EASE"]["ndcg@10"] > rows["Popularity"]["ndcg@10"] > rows["Random"]["ndcg@10"]
    assert result["cold_start"] == []


def test_cold_start_hybrid_finds_new_uploads():
    from reelrec.datasets import synthetic_video_platform

    rows = {
        r["model"]: r
        for r in cold_start_rows(synthetic_video_platform(1500, 800, seed=1), k=10, threads=0)
    }
    assert rows["Hybrid"]["cold_recall@10"] > 5 * max(rows["ItemKNN"]["cold_recall@10"], 1e-3)


def test_demo_rejects_unknown_model(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--models", "NoSuchModel", "--quiet"])
    assert "unknown model" in capsys.readouterr().err


def test_python_dash_m_info():
    result = subprocess.run(
        [sys.executable, "-m", "reelrec", "info"], capture_output=True, text=True, check=True
    )
    assert result.stdout.startswith("reelrec ")
