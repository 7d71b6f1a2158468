"""The layers import in one direction, and only the package is installed.

```
4  nianbao.cli, nianbao.__main__, nianbao.startup,            the faces: CLI (and how it
   nianbao.demo, nianbao.web                                    starts), web app, demo
3  nianbao.services, nianbao.crawl, nianbao.jobdir,             what the faces call: reprocess,
   nianbao.sources                                              exports, the crawl runner
2  nianbao.crawler                                              Scrapy: spider, middlewares,
                                                                the pipeline adapters
1  nianbao.models, nianbao.migrations                           the archive (SQLAlchemy)
0  nianbao.pipelines, nianbao.errors                            pure text and cleaning
```

A module may import its own layer and the ones below, never above. The pure layer imports
neither Scrapy nor SQLAlchemy; the archive never imports Scrapy. Benchmarks import only the
package, never the tests. Read from the source with ``ast``, so an import inside a function
counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {  # folder in the repository → package name it installs as
    "nianbao": "nianbao",
    "crawler": "nianbao.crawler",
    "pipelines": "nianbao.pipelines",
    "models": "nianbao.models",
    "alembic": "nianbao.migrations",
}
LAYERS = [  # (prefix, rank); the longest matching prefix decides
    ("nianbao", 0),
    ("nianbao.errors", 0),
    ("nianbao.pipelines", 0),
    ("nianbao.models", 1),
    ("nianbao.migrations", 1),
    ("nianbao.crawler", 2),
    ("nianbao.services", 3),
    ("nianbao.crawl", 3),
    ("nianbao.jobdir", 3),
    ("nianbao.sources", 3),
    ("nianbao.cli", 4),
    ("nianbao.__main__", 4),
    ("nianbao.startup", 4),
    ("nianbao.demo", 4),
    ("nianbao.web", 4),
]
FORBIDDEN = {  # rank → third-party packages that layer must not import
    0: ("scrapy", "twisted", "sqlalchemy", "alembic"),
    1: ("scrapy", "twisted"),
}


def rank(module: str) -> int:
    best, found = -1, 0
    for prefix, r in LAYERS:
        if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
            best, found = len(prefix), r
    return found


def modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([package, *parts])] = path
    return out


def imports(path: Path, module: str) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            found.append((node.lineno, base))
            # `from nianbao import demo` imports the module nianbao.demo
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def test_every_import_points_down_or_sideways():
    known = modules()
    wrong: list[str] = []
    for module, path in known.items():
        mine = rank(module)
        for line, target in imports(path, module):
            top = target.split(".")[0]
            if top in ("crawler", "pipelines", "models"):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}: not installed")
            if top in FORBIDDEN.get(mine, ()):
                wrong.append(f"{path.relative_to(ROOT)}:{line} (layer {mine}) imports {target}")
            if not target.startswith("nianbao") or target not in known:
                continue
            if rank(target) > mine:
                wrong.append(
                    f"{path.relative_to(ROOT)}:{line} (layer {mine}) imports {target} "
                    f"(layer {rank(target)})"
                )
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_benchmarks_import_only_the_package():
    wrong = []
    for path in sorted((ROOT / "benchmarks").rglob("*.py")):
        for line, target in imports(path, "benchmarks." + path.stem):
            if target.split(".")[0] in ("tests", "crawler", "pipelines", "models"):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_the_demo_ships_the_seed_reports_the_tests_use():
    shipped = ROOT / "nianbao" / "demo" / "data" / "seeds"
    fixtures = ROOT / "tests" / "fixtures" / "seeds"
    names = sorted(p.name for p in fixtures.glob("*.txt"))
    assert names == sorted(p.name for p in shipped.glob("*.txt"))
    for name in names:
        assert (shipped / name).read_bytes() == (fixtures / name).read_bytes(), name
