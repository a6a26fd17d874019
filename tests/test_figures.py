"""Figures: Pareto frontier, smoothing, label placement, byte-identical rebuilds, captions."""

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deductive.figures import style
from deductive.figures.labels import place_labels
from deductive.figures.pareto import dominates, frontier, staircase
from deductive.figures.data import Inputs, load_runs
from deductive.figures.training_curves import grid_shape, smooth

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_RESULTS = ROOT / "tests" / "fixtures" / "results"


def test_pareto_frontier_on_a_hand_made_set():
    #        0 cheap+bad   1 dominated by 2   2 frontier   3 dear+best   4 dominated by 3   5 tie of 2
    pts = [(0.001, 0.20), (0.02, 0.30), (0.01, 0.50), (0.5, 0.70), (0.9, 0.55), (0.01, 0.50)]
    assert frontier(pts) == [0, 2, 5, 3]
    assert dominates((0.01, 0.5), (0.02, 0.3)) and not dominates((0.01, 0.5), (0.01, 0.5))
    assert frontier([]) == []
    xs, ys = staircase([(1.0, 0.1), (2.0, 0.3)], x_max=10.0)
    assert xs == [1.0, 2.0, 2.0, 10.0] and ys == [0.1, 0.1, 0.3, 0.3]


def test_smoothing_is_exponential_and_checks_its_weight():
    assert smooth([1.0, 0.0, 0.0], 0.5) == [1.0, 0.5, 0.25]
    assert smooth([0.2, 0.4], 0.0) == [0.2, 0.4]
    with pytest.raises(ValueError):
        smooth([1.0], 1.0)


def test_training_curves_plot_val_reward_with_the_base_model_as_iteration_0():
    inputs = Inputs(FIXTURE_RESULTS)
    (run,) = load_runs(FIXTURE_RESULTS / "smoke", inputs)
    metrics = FIXTURE_RESULTS / "smoke" / "train" / "tiny-qwen2" / "metrics.jsonl"
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    # val_accuracy (share of samples fully solved) differs from val_reward in the fixture
    assert [r["val_accuracy"] for r in records] != [r["val_reward"] for r in records]
    assert run.metric == "val_reward"
    assert run.iterations == list(range(0, len(records) + 1))
    assert run.values == [0.1] + [r["val_reward"] for r in records]  # 0.1 = summary's base_val_reward
    assert run.base_value == 0.1
    assert "results/smoke/train/tiny-qwen2/metrics.jsonl" in inputs.files
    assert [grid_shape(n) for n in (1, 2, 3, 4, 5)] == [(1, 1), (1, 2), (1, 3), (2, 2), (2, 3)]


def test_labels_do_not_overlap_on_a_crowded_plot():
    import matplotlib.pyplot as plt

    style.setup()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.set_xscale("log")
    xs = [0.001, 0.0011, 0.0012, 0.01, 0.011, 0.1, 0.12, 0.5]
    ys = [0.30, 0.31, 0.29, 0.50, 0.52, 0.55, 0.56, 0.70]
    ax.plot(xs, ys, "o")
    ax.set_xlim(1e-4, 10)
    ax.set_ylim(0, 1)
    fig.tight_layout()
    artists = place_labels(ax, xs, ys, [f"model number {i}" for i in range(len(xs))])
    renderer = fig.canvas.get_renderer()
    boxes = [a.get_window_extent(renderer) for a in artists]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (i, j)
    plt.close(fig)


def _render(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "make_figures.py"), "--results",
                           str(FIXTURE_RESULTS), "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


@pytest.fixture(scope="module")
def two_renders(tmp_path_factory):
    a, b = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    for out in (a, b):
        proc = _render(out)
        assert proc.returncode == 0, proc.stderr
    return a, b


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_make_figures_is_byte_identical_across_rebuilds(two_renders):
    a, b = two_renders
    ta, tb = _tree(a), _tree(b)
    names = {"training_curves", "cost_accuracy", "accuracy_ci", "published_compare"}
    for name in names:
        for ext in ("png", "pdf", "caption.md"):
            assert f"smoke/{name}.{ext}" in ta
    assert {"smoke/published_compare.md", "smoke/published_compare.tex", "paper/cost_accuracy.png"} <= set(ta)
    assert ta.keys() == tb.keys()
    different = [k for k in ta if ta[k] != tb[k]]
    assert different == []
    assert b"CreationDate" not in ta["smoke/cost_accuracy.pdf"]
    assert b"matplotlib" not in ta["smoke/cost_accuracy.png"].lower()


def test_captions_name_their_inputs_with_hashes_and_the_results_commit(two_renders):
    a, _ = two_renders
    caption = (a / "smoke" / "accuracy_ci.caption.md").read_text()
    summary = FIXTURE_RESULTS / "smoke" / "eval" / "tiny-qwen2-base" / "test.summary.json"
    digest = hashlib.sha256(summary.read_bytes()).hexdigest()
    assert f"| `results/smoke/eval/tiny-qwen2-base/test.summary.json` | `{digest}` |" in caption
    commit = json.loads(summary.read_text())["provenance"]["code"]["commit"]
    assert commit in caption
    cost = (a / "smoke" / "cost_accuracy.caption.md").read_text()
    assert "results/published/published.csv" in cost and "not measured here" in cost
    paper = (a / "paper" / "cost_accuracy.caption.md").read_text()
    assert "nothing in this figure was measured by this project" in paper


def test_published_and_measured_are_labelled_apart(two_renders):
    a, _ = two_renders
    table = (a / "smoke" / "published_compare.md").read_text()
    assert "published accuracy" in table and "measured here" in table
    assert "| Qwen2.5-14B-Instruct | 28.1% |" in table
    assert "tiny-qwen2-base (stand-in)" in table and "tiny-qwen2-trained (stand-in)" in table
    assert "not measured" in table  # o1 has no measured counterpart in the fixtures
    tex = (a / "smoke" / "published_compare.tex").read_text()
    assert r"\begin{tabular}" in tex and r"28.1\%" in tex


def test_a_malformed_summary_is_a_one_line_error(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(FIXTURE_RESULTS, results)
    (results / "smoke" / "eval" / "tiny-qwen2-base" / "test.summary.json").write_text("{not json")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_figures.py"), "--results", str(results),
                           "--out", str(tmp_path / "figs")], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "test.summary.json" in proc.stderr and "Traceback" not in proc.stderr


def test_only_folders_with_profile_results_are_profiles(tmp_path):
    from deductive.figures.data import profiles_present

    (tmp_path / "smoke" / "train").mkdir(parents=True)
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "rollout.csv").write_text("x\n")
    (tmp_path / "published").mkdir()
    assert profiles_present(tmp_path) == ["smoke"]


def test_the_figure_and_the_comparison_table_share_one_pairing(tmp_path):
    """published_compare (figure) and comparison.csv (table) render the same pairs, with the same
    numbers, from deductive.evaluation.comparison; test-split results are paired by neither."""
    from deductive.evaluation.published import load_published
    from deductive.evaluation.tables import COMPARISON_COLUMNS, comparison_rows, read_eval_dir
    from deductive.figures.context import Context, Settings
    from deductive.figures.data import published_path
    from deductive.figures.published_compare import MISSING, pairs, table_cells

    ctx = Context(profile="smoke", profile_dir=FIXTURE_RESULTS / "smoke", published=published_path(FIXTURE_RESULTS),
                  out_dir=tmp_path, settings=Settings.from_config(None))
    assert ctx.settings.comparison_split == "published_val"
    figure_rows = pairs(ctx, ctx.new_inputs())
    summaries, _ = read_eval_dir(FIXTURE_RESULTS / "smoke" / "eval")
    published = load_published(published_path(FIXTURE_RESULTS))
    table_rows = comparison_rows(summaries, published)

    measured = [r for r in figure_rows if r.measured]
    assert len(measured) >= 2 and len(measured) < len(figure_rows)  # some pairs, some 'not measured'
    assert any(s["split"] == "test" and s.get("published_key") for s in summaries)  # the fixture has such
    assert {t["split"] for t in table_rows} == {"published_val"}
    by_figure = {(r.entry, r.published_key): {c: getattr(r, c) for c in COMPARISON_COLUMNS} for r in measured}
    by_table = {(t["entry"], t["published_key"]): t for t in table_rows}
    assert by_figure == by_table
    for r in measured:
        t = by_table[(r.entry, r.published_key)]
        assert t["difference"] == pytest.approx(t["measured_accuracy"] - t["published_accuracy"])
        assert table_cells(r)[4] == f"{100 * t['difference']:+.1f}"
    assert [r.published_key for r in figure_rows if not r.measured] == [
        k for k in published if (k not in {key for _, key in by_table})]
    assert all(table_cells(r)[3] == MISSING for r in figure_rows if not r.measured)


def test_without_the_published_reference_no_published_number_is_drawn(tmp_path):
    """figures.published_reference: false (the CPU learning profiles): the cost figure has only
    the measured points, the training curves no frontier line, and no reproduced-versus-published
    table; the captions say why. With the default, the same results draw them."""
    from deductive.figures.render import render_all

    drawn = render_all(FIXTURE_RESULTS, tmp_path / "with", ["smoke"], {"smoke": {}})["smoke"]
    bare = render_all(FIXTURE_RESULTS, tmp_path / "without", ["smoke"],
                      {"smoke": {"published_reference": False, "smoothing_weight": 0.0}})["smoke"]
    assert "published_compare" in {r.name for r in drawn}
    assert "published_compare" not in {r.name for r in bare}
    by_name = {r.name: r for r in bare}
    for name in ("cost_accuracy", "training_curves"):
        assert not any(f.endswith("published.csv") for f in by_name[name].inputs.files), name
        assert "published_reference is false" in by_name[name].description
    assert any(f.endswith("published.csv") for f in {r.name: r for r in drawn}["cost_accuracy"].inputs.files)
    assert "no smoothing" in by_name["training_curves"].description
