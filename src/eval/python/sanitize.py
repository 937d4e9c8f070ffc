"""June's code sanitizer: the program inside a model's answer, with EvalPlus's semantics.

It is prepended to worker.py (one source, run inside the checker sandbox) and runs in a job's forked,
resource-limited child: parsing an answer is parsing untrusted text.

1. The code: among the answer's fenced code blocks (Python or untagged ones first), the longest
   syntactically valid one by non-empty lines, preferring blocks that define the entry point; a block that
   does not parse, or an answer with no fences, gives its longest valid run of lines (EvalPlus's
   `code_extract`).
2. Then EvalPlus's `extract_target_code_or_empty`: keep every top-level import, and of the top-level
   functions, classes and assignments only those the entry point reaches, transitively, in source order.
   Tests, prints and `if __name__ == "__main__":` blocks go. Where a name is defined twice the last
   definition counts (Python's own rule; EvalPlus keeps the first one that has a `return`).
   When nothing is left, the code block as found.
"""

import ast as _ast

_PY_TAGS = {"", "python", "py", "python3", "py3", "ipython", "pycon"}


def _parses(text):
    try:
        _ast.parse(text)
        return True
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False


def _nonempty(lines):
    return sum(1 for line in lines if line.strip())


def fenced_blocks(text):
    """(tag, content) of each ``` or ~~~ block; an unclosed last block runs to the end (a cut-off answer)."""
    blocks = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        fence = stripped[:3]
        if fence in ("```", "~~~"):
            marker = stripped[: len(stripped) - len(stripped.lstrip(fence[0]))]
            tag = stripped[len(marker):].strip().split(" ")[0].lower() if stripped[len(marker):].strip() else ""
            body = []
            i += 1
            while i < len(lines) and not (lines[i].strip().startswith(marker) and lines[i].strip().strip(fence[0]) == ""):
                body.append(lines[i])
                i += 1
            blocks.append((tag, "\n".join(body)))
        i += 1
    return blocks


def longest_valid_run(text, max_lines=200):
    """EvalPlus's code_extract: the run of lines that parses and has the most non-empty lines."""
    lines = text.split("\n")[:max_lines]
    n = len(lines)
    prefix = [0]
    for line in lines:
        prefix.append(prefix[-1] + (1 if line.strip() else 0))
    best, pair = 0, (0, 0)
    for i in range(n):
        if prefix[n] - prefix[i] <= best:
            break
        # a run that starts blank has a longer-or-equal twin starting at its first line; one that starts
        # indented cannot parse (unexpected indent)
        if not lines[i].strip() or lines[i][0] in " \t":
            continue
        for j in range(n, i, -1):
            count = prefix[j] - prefix[i]
            if count <= best:
                break
            if _parses("\n".join(lines[i:j])):
                best, pair = count, (i, j)
                break
    return "\n".join(lines[pair[0]:pair[1]])


def _defines(code, entry):
    try:
        tree = _ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
    return any(isinstance(node, (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.ClassDef)) and node.name == entry
               for node in tree.body)


def extract_code(text, entry):
    """The longest valid code block: (code, source, number of blocks)."""
    blocks = fenced_blocks(text)
    if not blocks:
        code = longest_valid_run(text)
        return code, ("text" if code.strip() else "none"), 0
    python = [b for b in blocks if b[0] in _PY_TAGS] or blocks
    candidates = []
    for _tag, body in python:
        code = body if _parses(body) else longest_valid_run(body)
        if code.strip():
            candidates.append(code)
    if not candidates:
        return "", "none", len(blocks)
    with_entry = [c for c in candidates if _defines(c, entry)]
    pool = with_entry or candidates
    best = pool[0]
    for c in pool[1:]:
        if _nonempty(c.split("\n")) > _nonempty(best.split("\n")):
            best = c
    return best, "fenced", len(blocks)


def _names_used(node):
    used = set()
    for sub in _ast.walk(node):
        if isinstance(sub, _ast.Name):
            used.add(sub.id)
        elif isinstance(sub, _ast.Attribute):
            used.add(sub.attr)
    return used


def _bound_names(target):
    return {sub.id for sub in _ast.walk(target) if isinstance(sub, _ast.Name)}


def keep_entry_and_deps(code, entry):
    """Imports, and the definitions the entry point reaches (source order); "" when nothing is kept."""
    try:
        tree = _ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return ""
    lines = code.split("\n")

    def segment(node):
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        return "\n".join(lines[start - 1:node.end_lineno])

    imports, defs = [], []  # defs: (index, binds, uses, node, is_def)
    for node in tree.body:
        if isinstance(node, (_ast.Import, _ast.ImportFrom)):
            imports.append(node)
        elif isinstance(node, (_ast.FunctionDef, _ast.AsyncFunctionDef, _ast.ClassDef)):
            defs.append(({node.name}, _names_used(node) - {node.name}, node, True))
        elif isinstance(node, _ast.Assign):
            binds = set()
            for t in node.targets:
                binds |= _bound_names(t)
            defs.append((binds, _names_used(node.value), node, False))
        elif isinstance(node, (_ast.AnnAssign, _ast.AugAssign)) and node.value is not None:
            defs.append((_bound_names(node.target), _names_used(node.value), node, False))
    # a name defined twice by def/class: only the last definition counts (Python's binding rule)
    last_def = {}
    for i, (binds, _uses, _node, is_def) in enumerate(defs):
        if is_def:
            last_def[next(iter(binds))] = i
    live = [i for i, d in enumerate(defs) if not d[3] or last_def[next(iter(d[0]))] == i]
    by_name = {}
    for i in live:
        for name in defs[i][0]:
            by_name.setdefault(name, []).append(i)
    keep, todo, seen = set(), [entry], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for i in by_name.get(name, []):
            keep.add(i)
            todo.extend(defs[i][1])
    # as EvalPlus writes it: the imports first, then the kept definitions in source order
    return "\n".join([segment(n) for n in imports] + [segment(defs[i][2]) for i in sorted(keep)])


def sanitize(answer, entry):
    code, source, blocks = extract_code(answer, entry)
    kept = keep_entry_and_deps(code, entry).strip() if code.strip() else ""
    final = kept or code
    return {"code": final, "source": source, "blocks": blocks, "hasEntryPoint": _defines(final, entry)}
