import json
import subprocess
import sys

import pytest

from reelrec.cli import demo_models, main, run_demo


def test_demo_runs_every_model_and_prints_table(capsys, tmp_path):
    out = tmp_path / "demo.json"
    assert main(["demo", "--users", "300", "--videos", "200", "--quiet", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    rows = json.loads(out.read_text())
    assert [r["model"] for r in rows] == list(demo_models(0, 0))
    for row in rows:
        assert row["model"] in printed
        assert 0.0 <= row["ndcg@10"] <= 1.0 and 0.0 <= row["coverage"] <= 1.0 and row["fit_s"] >= 0


def test_demo_personalised_models_beat_random():
    rows = {r["model"]: r for r in run_demo(n_users=600, n_videos=300, models=["Random", "Popularity", "EASE"], quiet=True)}
    assert rows["EASE"]["ndcg@10"] > rows["Popularity"]["ndcg@10"] > rows["Random"]["ndcg@10"]


def test_demo_rejects_unknown_model(capsys):
    with pytest.raises(SystemExit):
        main(["demo", "--models", "NoSuchModel", "--quiet"])
    assert "unknown model" in capsys.readouterr().err


def test_python_dash_m_info():
    result = subprocess.run([sys.executable, "-m", "reelrec", "info"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("reelrec ")
