"""Test doubles for the evaluation tests: a deterministic API client (no network, no key)."""

import time

from deductive.puzzles.formats import Puzzle

# Answer styles a grader must handle: the fixed grader reads all of them; the original's
# (compat) scoring misses bold markers and times (no digits in its character class).
STYLES = ("plain", "bold", "wrong")


def answer_text(solution: dict, style: str) -> str:
    lines = []
    for letter, answer in sorted(solution.items()):
        if style == "plain":
            lines.append(f"{letter}. {answer}")
        elif style == "bold":
            lines.append(f"**{letter}.** {answer}")
        else:
            lines.append(f"{letter}. nobody")
    return "Reasoning...\n" + "\n".join(lines)


def make_complete(puzzles: list[Puzzle], delay: float = 0.0):
    """A `complete(messages, params, sample_index)` that answers from the solution."""
    by_prompt = {p.prompt: p for p in puzzles}

    def complete(messages, params, sample_index):
        if delay:
            time.sleep(delay)
        puzzle = by_prompt[messages[-1]["content"]]
        style = STYLES[(len(puzzle.id) + sample_index + sum(map(ord, puzzle.id))) % len(STYLES)]
        text = answer_text(puzzle.solution, style)
        return {"text": text, "finish_reason": "stop", "cached": False,
                "usage": {"prompt_tokens": len(puzzle.prompt) // 4, "completion_tokens": len(text) // 4}}

    return complete


def layout(config: dict, entry_name: str):
    """The paths the workflow's evaluation rules give an entry of a throw-away profile."""
    from deductive.config import PRICING_PATH, PUBLISHED_SPLIT, REPO_ROOT
    from deductive.evaluation.entries import list_entries
    from deductive.evaluation.run import Layout

    entry = list_entries(config)[entry_name]
    profile = config["profile"]
    puzzles = {s: REPO_ROOT / (config["evaluation"]["published_val"] if s == PUBLISHED_SPLIT
                               else f"results/{profile}/puzzles/{s}.jsonl") for s in entry.splits}
    model = entry.api.get("serve") if entry.kind == "api" else entry.model_name
    return Layout(out_dir=REPO_ROOT / "results" / profile / "eval" / entry_name,
                  work_dir=REPO_ROOT / "work" / profile / "eval" / entry_name, prices=PRICING_PATH,
                  puzzles=puzzles,
                  model_dir=REPO_ROOT / "models" / model if model else None,
                  train_summary=REPO_ROOT / "results" / profile / "train" / str(entry.run) / "summary.json")
