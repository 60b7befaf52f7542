"""The benchmark's result tables: bench/RESULTS.md and the README's block between its markers."""

import json

import pytest

from bench import scale


def _run(name: str, value: float, met: bool) -> dict:
    return {"database": "postgresql", "dossiers": 1_000_000, "workers": 2, "seed_seconds": 512.3,
            "finished_at": "2026-12-01T12:00:00+00:00",
            "machine": {"cores": 2, "memory_mb": 24_000},
            "results": [{"name": name, "value": value, "unit": "ms", "baseline": 0.7,
                         "goal": "< 15", "met": met, "p50_ms": 4.2, "errors": 0}]}


@pytest.fixture
def results_dir(tmp_path, monkeypatch):
    folder = tmp_path / "results"
    folder.mkdir()
    monkeypatch.setattr(scale, "RESULTS_DIR", folder)
    monkeypatch.setattr(scale, "ROOT", tmp_path)
    (tmp_path / "bench").mkdir()
    return folder


def test_readme_block_is_replaced_between_its_markers_only(results_dir, tmp_path):
    (results_dir / "latest.json").write_text(json.dumps(_run("queue_page_first_p95", 9.1, True)))
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\nbefore\n{scale.README_START}\nold table\n{scale.README_END}\n"
                      "after\n")
    scale.write_markdown(readme)
    text = readme.read_text()
    assert text.startswith("# Title\n\nbefore\n")
    assert text.endswith(f"{scale.README_END}\nafter\n")
    assert "old table" not in text
    assert "| queue_page_first_p95 | 9.1 ms (p50 4.2 ms) | 0.7 | < 15 | yes |" in text
    assert "1,000,000 dossiers, 2 gunicorn workers" in text
    # Written twice, the block is replaced, not repeated.
    scale.write_markdown(readme)
    assert readme.read_text() == text
    results = (tmp_path / "bench" / "RESULTS.md").read_text()
    assert "| queue_page_first_p95 | 9.1 ms (p50_ms 4.2) | 0.7 | < 15 | yes |" in results


def test_unmet_goal_is_marked_and_readme_without_markers_is_left_alone(results_dir, tmp_path):
    (results_dir / "latest.json").write_text(json.dumps(_run("indicators_p95", 61.0, False)))
    readme = tmp_path / "README.md"
    readme.write_text("# Title\nno markers here\n")
    scale.write_markdown(readme)
    assert readme.read_text() == "# Title\nno markers here\n"
    assert "| **no** |" in (tmp_path / "bench" / "RESULTS.md").read_text()


def test_the_cpu_time_the_host_took_while_measuring_is_reported(results_dir, tmp_path):
    # user nice system idle iowait irq softirq steal: 1,000 ticks, 150 of them stolen.
    before = [100, 0, 50, 800, 0, 0, 0, 50]
    after = [500, 0, 150, 1_150, 0, 0, 0, 200]
    assert scale.stolen_percent(before, after) == 15.0
    assert scale.stolen_percent([], after) is None
    assert len(scale.cpu_times()) >= 8  # Linux

    run = _run("queue_page_first_p95", 9.1, True)
    run["machine"]["steal_percent"] = 15.0
    (results_dir / "latest.json").write_text(json.dumps(run))
    scale.write_markdown(tmp_path / "README.md")
    assert "CPU time taken by the host while measuring: 15.0%" in (
        tmp_path / "bench" / "RESULTS.md").read_text()
