"""Run every benchmark module, or the ones named: ``python -m bench [drivers calibration ...]``."""

import importlib
import pkgutil
import sys

import bench


def main(argv: list[str]) -> None:
    names = sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules(bench.__path__)
        if m.name.startswith("bench_")
    )
    chosen = argv or names
    unknown = sorted(set(chosen) - set(names))
    if unknown:
        raise SystemExit(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(names)}")
    for name in chosen:
        print(f"== bench {name}")
        importlib.import_module(f"bench.bench_{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
