#!/usr/bin/env python3
"""Checks the crate's layering (docs/ARCHITECTURE.md, Layering); run by scripts/test.sh.

1. No import cycle between any two modules (every file under src/ is a module): an edge A -> B is
   a `use` or an inline `crate::`/`super::`/`self::` path in A that names B or an item defined in
   B. Re-exports (`pub use`, `pub(crate) use`, `pub(super) use`) are a facade, not a use, and are
   not edges; the crate root's re-exports are followed to the module that defines the item.
   `#[cfg(test)] mod tests` blocks are left out (a test may look at anything).
2. Between the top-level modules, imports only go down the layer list below.
3. No file in src/ is longer than 450 lines.

Usage: python3 scripts/check-layers.py [--graph]   (--graph prints every edge)
"""
import os
import re
import sys

MAX_LINES = 450
# Top to bottom: a module may import only from its own layer or a lower one (and never in a cycle).
LAYERS = [
    ["capi"],
    ["recorder"],
    ["config"],
    ["upload"],
    ["notify"],
    ["mux"],
    ["encode"],
    ["capture"],
    ["files", "event", "stats", "queue", "secret", "error"],
]
LAYER_OF = {m: i for i, layer in enumerate(LAYERS) for m in layer}

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib"):
        rel = rel[:-1]
    return tuple(rel)


def strip_code(text):
    """Removes comments, string literals and `#[cfg(test)] mod tests {...}` blocks."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    text = re.sub(r'r#*"(?:.|\n)*?"#*', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    m = re.search(r"#\[cfg\(test\)\]\s*mod\s+tests\s*\{", text)
    if m:
        depth, i = 0, m.end() - 1
        while i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        text = text[: m.start()] + text[i + 1 :]
    return text


def expand_use_tree(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    tree = re.sub(r"\s+", "", tree)
    m = re.match(r"^([^{]*)\{(.*)\}$", tree)
    if not m:
        return [tree.split(" as ")[0]]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    parts.append(cur)
    return [p2 for p in parts if p for p2 in expand_use_tree(prefix + p)]


def main():
    files = {}
    for dirpath, _, names in os.walk(ROOT):
        for name in names:
            if name.endswith(".rs"):
                files[module_of(os.path.join(dirpath, name))] = os.path.join(dirpath, name)
    modules = set(files)
    failures = []

    for mod, path in sorted(files.items()):
        n = sum(1 for _ in open(path, encoding="utf-8"))
        if n > MAX_LINES:
            failures.append(f"{os.path.relpath(path, ROOT)} has {n} lines (at most {MAX_LINES}): split it by job")

    # Where each crate-root re-export comes from: `pub use a::{X, Y}` -> X: a.
    root_items = {}
    root = strip_code(open(files[()], encoding="utf-8").read())
    for m in re.finditer(r"pub\s+use\s+([^;]+);", root):
        for full in expand_use_tree(m.group(1)):
            segs = full.split("::")
            item = segs[-1].split(" as ")[-1]
            root_items[item] = tuple(segs[:-1])

    def resolve(mod, segs):
        """The module a path names (the longest module prefix), or None for external paths."""
        if segs[0] == "crate":
            base, rest = (), segs[1:]
        elif segs[0] == "self":
            base, rest = mod, segs[1:]
        elif segs[0] == "super":
            base, rest = mod, segs
            while rest and rest[0] == "super":
                base, rest = base[:-1], rest[1:]
        else:
            base, rest = mod, segs  # a path relative to this module: a child module, or external
            if not rest or (mod + (rest[0],)) not in modules:
                return None
        target = base
        for s in rest:
            if target + (s,) in modules:
                target = target + (s,)
            else:
                break
        if target == () and rest and rest[0] in root_items:
            target = root_items[rest[0]]
        return target

    edges = {}
    for mod, path in files.items():
        if mod == ():
            continue  # the crate root is the facade
        code = strip_code(open(path, encoding="utf-8").read())
        paths = []
        for m in re.finditer(r"(?:^|[;}\s])(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", code):
            if m.group(1):
                continue  # a re-export
            paths += expand_use_tree(m.group(2))
        code_without_uses = re.sub(r"(?:^|[;}\s])(pub(?:\([^)]*\))?\s+)?use\s+[^;]+;", " ", code)
        paths += re.findall(r"\b((?:crate|super|self)(?:::\w+)+)", code_without_uses)
        # Inline paths through a child module (`x11::list_windows()`).
        for child in (m for m in modules if len(m) == len(mod) + 1 and m[: len(mod)] == mod):
            if re.search(r"(?<![:\w])" + child[-1] + r"::\w", code_without_uses):
                paths.append("self::" + child[-1])
        for p in paths:
            segs = [s for s in p.split("::") if s and s != "*"]
            target = resolve(mod, segs)
            if target is None or target == mod or target == ():
                continue
            edges.setdefault(mod, set()).add(target)

    name = lambda m: "::".join(m) or "crate"
    if "--graph" in sys.argv:
        for a in sorted(edges):
            print(f"{name(a)} -> {', '.join(sorted(name(b) for b in edges[a]))}")

    # Layers between top-level modules.
    for a, targets in edges.items():
        for b in targets:
            ta, tb = a[0], b[0]
            if ta == tb:
                continue
            for t in (ta, tb):
                if t not in LAYER_OF:
                    failures.append(f"module `{t}` is not in scripts/check-layers.py's LAYERS: place it")
            if ta in LAYER_OF and tb in LAYER_OF and LAYER_OF[tb] < LAYER_OF[ta]:
                failures.append(f"`{name(a)}` imports `{name(b)}`, which sits above it")

    # Cycles (Tarjan's strongly connected components).
    index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                on.discard(w)
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                sccs.append(scc)

    sys.setrecursionlimit(10000)
    for v in sorted(modules):
        if v not in index:
            visit(v)
    for scc in sccs:
        members = set(scc)
        detail = "; ".join(
            f"{name(a)} -> {name(b)}" for a in sorted(members) for b in sorted(edges.get(a, ())) if b in members
        )
        failures.append(f"import cycle between {', '.join(sorted(name(m) for m in scc))} ({detail})")

    if failures:
        print("layering check failed:", *failures, sep="\n  ", file=sys.stderr)
        sys.exit(1)
    n_edges = sum(len(t) for t in edges.values())
    print(f"layering: {len(modules)} modules, {n_edges} imports, no cycle, layers respected, no file over {MAX_LINES} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
