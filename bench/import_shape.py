"""Import shape of the package: cycles among automations/ modules, and job modules
that import another job module (at the top or inside a function).

    .venv/bin/python bench/import_shape.py

A job module is a module of ``automations/jobs`` other than the shared engines
(``sending``, ``__init__``); ``automations/pipelines.py`` is where jobs are chained.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "automations"
# Shared engines jobs build on (they import no job): the sender, the co-production
# forms engine (make a person's form, send its link once, collect its answers), and
# ``remind``, which only names the chained run in automations.pipelines.
SHARED = {
    "automations.jobs",
    "automations.jobs.sending",
    "automations.jobs.coprod_forms",
    "automations.jobs.remind",
}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path, mods: set[str]) -> tuple[set[str], int]:
    """(modules imported, imports found inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path)
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    inner = 0
    funcs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    nested = {id(x) for f in funcs for x in ast.walk(f) if x is not f}
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = pkg.split(".")
                up = up[: len(up) - (node.level - 1)]
                base = ".".join(up + ([base] if base else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        hit = {t for t in targets if t in mods and t != name}
        if hit and id(node) in nested and not _type_checking(node, tree):
            inner += 1
        out |= hit
    return out, inner


def _type_checking(node: ast.AST, tree: ast.Module) -> bool:
    for n in ast.walk(tree):
        inside = isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test)
        if inside and any(x is node for x in ast.walk(n)):
            return True
    return False


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main() -> None:
    files = sorted(ROOT.rglob("*.py"))
    mods = {module_name(p) for p in files}
    graph: dict[str, set[str]] = {}
    hidden = 0
    for p in files:
        got, inner = imports(p, mods)
        # a package's own __init__ is imported with any of its modules: not an edge back
        graph[module_name(p)] = {g for g in got if not module_name(p).startswith(g + ".")}
        hidden += inner
    jobs = {m for m in mods if m.startswith("automations.jobs.") and m not in SHARED}
    job_imports = sorted((m, t) for m in jobs for t in graph[m] if t in jobs)
    found = cycles(graph)
    print(f"import cycles among automations/ modules: {len(found)}")
    for c in found:
        print("  " + " <-> ".join(c))
    print(f"job modules importing another job: {len({m for m, _ in job_imports})}")
    for m, t in job_imports:
        print(f"  {m} -> {t}")
    print(f"imports inside functions (automations/ modules): {hidden}")


if __name__ == "__main__":
    main()
