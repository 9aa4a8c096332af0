"""The example scripts run (at small sizes)."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(name, args, monkeypatch):
    monkeypatch.setattr(sys, "argv", [name, *args])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")


@pytest.mark.slow
def test_quickstart(monkeypatch, capsys):
    run("quickstart.py", ["--users", "400", "--videos", "200"], monkeypatch)
    assert "ImplicitALS" in capsys.readouterr().out


@pytest.mark.slow
def test_movielens(monkeypatch, capsys, ml100k_path):
    run("movielens.py", ["--data", str(ml100k_path)], monkeypatch)
    assert "RMSE" in capsys.readouterr().out


@pytest.mark.slow
def test_off_policy_evaluation(monkeypatch, capsys):
    run("off_policy_evaluation.py", ["--rounds", "3000"], monkeypatch)
    assert "true value" in capsys.readouterr().out
