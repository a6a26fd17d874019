"""Render every figure and table of every profile from the files under results/ (read only).

`render_all(results, out)` draws, for each profile with a results folder (and for `paper`,
which can always show the published numbers), each figure whose inputs exist, writing
figures/<profile>/<name>.{pdf,png} and <name>.caption.md. `render_profile(ctx)` draws one profile
from the paths its Context names (the workflow's figures rule gives each of them). It never
trains, samples or calls a model: it only reads committed results files.
"""

from __future__ import annotations

from pathlib import Path

from deductive.config import load_config, profile_config_files
from deductive.figures import accuracy_ci, cost_accuracy, published_compare, training_curves
from deductive.figures.context import Context, Rendered, Settings
from deductive.figures.data import profiles_present, published_path
from deductive.io import atomic_write_text

FIGURES = (training_curves, cost_accuracy, accuracy_ci, published_compare)
ALWAYS = ("paper",)  # profiles drawn from published numbers even before anything is measured


def caption_text(profile: str, rendered: Rendered) -> str:
    """The caption file: what the figure shows, which files (sha256) and commits it came from."""
    lines = [f"# {rendered.title} (profile `{profile}`)", "", rendered.description, "",
             "Files: " + ", ".join(f"`{p.name}`" for p in sorted(rendered.files)), "",
             "## Inputs", "", "| file | sha256 |", "|---|---|"]
    lines += [f"| `{name}` | `{digest}` |" for name, digest in sorted(rendered.inputs.files.items())]
    commits = sorted(rendered.inputs.commits)
    published = any(name.endswith("published/published.csv") for name in rendered.inputs.files)
    lines += ["", "## Provenance", ""]
    if commits:
        lines.append("Measured results produced by code at commit(s): "
                     + ", ".join(f"`{c}`" for c in commits) + " (from the results' provenance blocks).")
    else:
        lines.append("No measured results: nothing in this figure was measured by this project.")
    if published:
        lines.append("Published numbers: taken from the publication, not measured here "
                     "(see `results/published/SOURCE.md`).")
    lines += ["Rendered by `scripts/make_figures.py` from these files only.", ""]
    return "\n".join(lines)


def figures_section(profile: str, results: Path) -> dict:
    """The `figures` settings of a profile drawn without Snakemake (`make figures` re-renders
    committed results): the profile's pinned config if there is one (its layered list of files,
    deductive.config.profile_config_files), else the defaults. The workflow passes its resolved
    settings instead (scripts/make_figures.py --config)."""
    if profile_config_files(profile):
        return load_config(profile).get("figures") or {}
    return {}


def profile_context(profile: str, results: Path, out: Path, section: dict | None = None) -> Context:
    """The context of `profile` among all profiles under the folders `results` and `out`."""
    if section is None:
        section = figures_section(profile, results)
    return Context(profile=profile, profile_dir=results / profile, published=published_path(results),
                   out_dir=out / profile, settings=Settings.from_config(section))


def profiles_to_render(results: Path) -> list[str]:
    present = profiles_present(results)
    extra = [p for p in ALWAYS if published_path(results).is_file() and p not in present]
    return sorted(set(present) | set(extra))


def render_profile(ctx: Context) -> list[Rendered]:
    done = []
    for module in FIGURES:
        rendered = module.render(ctx)
        if rendered is None:
            continue
        caption = ctx.out_dir / f"{rendered.name}.caption.md"
        atomic_write_text(caption, caption_text(ctx.profile, rendered))
        rendered.files.append(caption)
        done.append(rendered)
    return done


def render_all(results: Path, out: Path, profiles: list[str] | None = None,
               sections: dict[str, dict] | None = None) -> dict[str, list[Rendered]]:
    """`sections`: profile -> its resolved `figures` settings (the workflow passes them)."""
    sections = sections or {}
    return {profile: render_profile(profile_context(profile, results, out, sections.get(profile)))
            for profile in (profiles or profiles_to_render(results))}
