"""Prepare models/<name>/ (a Hugging Face directory + manifest.json) from the config's models.<name>."""

from __future__ import annotations

import argparse
import sys
import time


from deductive.config import ConfigError, load_config
from deductive.inference.model_prep import ModelPrepError, prepare_model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, help="workflow/config/<profile>.yaml")
    parser.add_argument("--name", required=True, help="key of the config's models section")
    parser.add_argument("--out", required=True, help="output directory, e.g. models/<name>")
    parser.add_argument("--force", action="store_true", help="rebuild even if the manifest matches")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
        models = config["models"]
        if args.name not in models:
            raise ConfigError(f"{args.config}: no model '{args.name}' (known: {', '.join(sorted(models))})")
        start = time.monotonic()
        manifest = prepare_model(args.name, models[args.name], args.out, force=args.force)
    except (ConfigError, ModelPrepError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    files = ", ".join(f"{k} {v[:12]}" for k, v in manifest["weights_sha256"].items())
    print(f"prepare_model: {args.name} ({manifest['source']}) ready in {args.out} "
          f"after {time.monotonic() - start:.1f}s; weights: {files}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
