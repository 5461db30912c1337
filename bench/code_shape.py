"""How easy the package is to see and change, in four counts (issue 16).

    python bench/code_shape.py [--root automations] [--json]

Prints:

- import cycles among ``automations/`` modules (strongly connected groups of the
  import graph, counting imports at the top of a module and inside functions alike),
  and how many imports are hidden inside functions;
- functions over 150 lines;
- blocks of six or more lines repeated in the same shape (names, strings and numbers
  replaced by placeholders, so a copy with other names still counts), as pairs of
  places, each pair counted once at its longest;
- modules under ``automations/jobs/`` that import another job.

Standard library only, so it runs on a clean checkout beside the tests.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import keyword
import sys
import tokenize
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LONG = 150
_FSTRING_PARTS = (getattr(tokenize, "FSTRING_MIDDLE", -2), getattr(tokenize, "FSTRING_END", -3))
MIN_LINES = 6


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``from . import x`` names."""
    if node.level == 0:
        return node.module or ""
    base = mod.split(".")
    if not is_pkg:
        base = base[:-1]
    if node.level > 1:
        base = base[: -(node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Ids of import nodes under ``if TYPE_CHECKING:``: never run, so never a cycle."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out.update(id(n) for b in node.body for n in ast.walk(b))
    return out


def imports(tree: ast.Module, mod: str, is_pkg: bool, known: set[str]) -> tuple[set[str], int]:
    """Modules of the package this one imports, and how many imports sit inside functions."""
    out: set[str] = set()
    hidden = 0
    typing_only = _type_checking_only(tree)
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            hidden += sum(isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(fn))
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = resolve(mod, is_pkg, node)
            names = [f"{target}.{a.name}" for a in node.names] + [target]
        else:
            continue
        for n in names:
            while n and n not in known:
                n = n.rpartition(".")[0]
            if n and n != mod:
                out.add(n)
    return out, hidden


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    groups: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return groups


def long_functions(tree: ast.Module, where: str) -> list[tuple[str, int]]:
    out = []
    for n in ast.walk(tree):
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.end_lineno:
            length = n.end_lineno - n.lineno + 1
            if length > LONG:
                out.append((f"{where}:{n.name}", length))
    return out


def shape_lines(source: str) -> list[tuple[int, str]]:
    """(line number, shape) for each line of code: names, strings, numbers as placeholders."""
    shapes: dict[int, list[str]] = defaultdict(list)
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    for t in toks:
        if t.type in skip or t.type == tokenize.ENDMARKER:
            continue
        if t.type == tokenize.NAME and not _keyword(t.string):
            text = "N"
        elif t.type == tokenize.STRING or t.type == getattr(tokenize, "FSTRING_START", -1):
            text = "S"
        elif t.type in _FSTRING_PARTS:
            continue
        elif t.type == tokenize.NUMBER:
            text = "0"
        else:
            text = t.string
        shapes[t.start[0]].append(text)
    return [(n, " ".join(s)) for n, s in sorted(shapes.items()) if _worth(s)]


def _keyword(name: str) -> bool:
    return keyword.iskeyword(name) or name in {"self", "None", "True", "False"}


def _worth(shape: list[str]) -> bool:
    """Lines that say something: not a lone bracket, decorator or docstring line."""
    return not (len(shape) <= 2 and all(s in "()[]{},:S" for s in shape))


def repeated_blocks(files: dict[str, str]) -> list[tuple[str, str, int]]:
    """Pairs of places sharing MIN_LINES or more consecutive lines of the same shape."""
    lines = {f: shape_lines(src) for f, src in files.items()}
    seen: dict[tuple[str, ...], list[tuple[str, int]]] = defaultdict(list)
    for f, ls in lines.items():
        shapes = [s for _, s in ls]
        for i in range(len(shapes) - MIN_LINES + 1):
            seen[tuple(shapes[i : i + MIN_LINES])].append((f, i))
    pairs: dict[tuple[str, str], set[tuple[int, int]]] = defaultdict(set)
    for places in seen.values():
        if len(places) < 2 or len(places) > 8:  # too common to be one copied block
            continue
        for a in range(len(places)):
            for b in range(a + 1, len(places)):
                (fa, ia), (fb, ib) = places[a], places[b]
                if fa == fb and abs(ia - ib) < MIN_LINES:
                    continue
                key = (fa, fb) if (fa, ia) <= (fb, ib) else (fb, fa)
                start = (ia, ib) if key == (fa, fb) else (ib, ia)
                pairs[key].add(start)
    out: list[tuple[str, str, int]] = []
    for (fa, fb), starts in pairs.items():
        # merge runs of consecutive window starts into blocks: one pair per run
        for ia, ib in sorted(starts):
            if (ia - 1, ib - 1) in starts:
                continue
            n = 0
            while (ia + n, ib + n) in starts:
                n += 1
            la = lines[fa][ia][0]
            lb = lines[fb][ib][0]
            out.append((f"{fa}:{la}", f"{fb}:{lb}", n + MIN_LINES - 1))
    return sorted(out, key=lambda p: -p[2])


def measure(root: Path) -> dict[str, object]:
    files = sorted(root.rglob("*.py"))
    known = {module_name(p, root) for p in files}
    graph: dict[str, set[str]] = {}
    hidden = 0
    longs: list[tuple[str, int]] = []
    sources: dict[str, str] = {}
    job_imports: dict[str, list[str]] = {}
    for p in files:
        src = p.read_text(encoding="utf-8")
        rel = str(p.relative_to(root.parent))
        sources[rel] = src
        tree = ast.parse(src)
        mod = module_name(p, root)
        deps, h = imports(tree, mod, p.name == "__init__.py", known)
        graph[mod] = deps
        hidden += h
        longs.extend(long_functions(tree, rel))
        jobs = f"{root.name}.jobs."
        if mod.startswith(jobs):
            other = sorted(d for d in deps if d.startswith(jobs) and d != mod)
            if other:
                job_imports[mod] = other
    groups = cycles(graph)
    blocks = repeated_blocks(sources)
    return {
        "modules": len(files),
        "import_cycles": len(groups),
        "cycle_groups": groups,
        "imports_inside_functions": hidden,
        "functions_over_150_lines": len(longs),
        "long_functions": sorted(longs, key=lambda x: -x[1]),
        "repeated_blocks": len(blocks),
        "largest_repeats": blocks[:10],
        "jobs_importing_jobs": len(job_imports),
        "job_imports": job_imports,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(ROOT / "automations"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    m = measure(Path(args.root).resolve())
    if args.json:
        print(json.dumps(m, indent=2))
        return
    print(f"modules read:                     {m['modules']}")
    print(f"import cycles:                    {m['import_cycles']}")
    for g in m["cycle_groups"]:  # type: ignore[attr-defined]
        print(f"    {' <-> '.join(g)}")
    print(f"imports inside functions:         {m['imports_inside_functions']}")
    print(f"functions over {LONG} lines:        {m['functions_over_150_lines']}")
    for name, n in m["long_functions"]:  # type: ignore[attr-defined]
        print(f"    {n:4d}  {name}")
    print(f"blocks of {MIN_LINES}+ lines repeated:     {m['repeated_blocks']} pairs")
    for a, b, n in m["largest_repeats"]:  # type: ignore[attr-defined]
        print(f"    {n:4d}  {a} ~ {b}")
    print(f"job modules importing a job:      {m['jobs_importing_jobs']}")
    for mod, deps in m["job_imports"].items():  # type: ignore[attr-defined]
        print(f"    {mod} -> {', '.join(deps)}")


if __name__ == "__main__":
    main()
