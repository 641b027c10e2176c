"""Move Python modules and rewrite every reference to them (the issue-24 folder sweep).

    python tools/move_modules.py old.module=new.module [old=new ...] [--split old:Name=new.module]
                                 [--skip ui/] [--dry-run]

For each tracked file: `from X import a, b` statements (relative or absolute) whose target is a
moved module, or that import a moved module by name (`from . import config`), are re-emitted
against the new place (relative stays relative, absolute stays absolute); a moved file's own
relative imports are recomputed for its new folder. Everything else that names a moved module as
a dotted path (`-m controlroom.x`, mock paths, docs) or a file path (`controlroom/x.py`) is
rewritten by text. Then `git mv`. Review the diff; run the tests that import the moved modules.
"""
from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = (".py", ".md", ".toml", ".cfg", ".ini", ".yaml", ".yml", ".txt", ".json")
TEXT_NAMES = {"run", "Makefile"}


def mod_to_path(mod: str, package: bool = False) -> Path:
    p = ROOT.joinpath(*mod.split("."))
    return p / "__init__.py" if package else p.with_suffix(".py")


def path_to_mod(path: Path) -> tuple[str, bool]:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def resolve(node: ast.ImportFrom, mod: str, is_pkg: bool) -> str:
    if not node.level:
        return node.module or ""
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def relative(target: str, from_mod: str, is_pkg: bool) -> str:
    """`target` as a relative module spec from inside from_mod's package ('..db.engine')."""
    here = from_mod.split(".") if is_pkg else from_mod.split(".")[:-1]
    t = target.split(".")
    common = 0
    while common < min(len(here), len(t)) and here[common] == t[common]:
        common += 1
    if common == 0:
        return target  # different top-level package: absolute
    dots = "." * (len(here) - common + 1)
    return dots + ".".join(t[common:])


class Mover:
    def __init__(self, moves: dict[str, str], splits: dict[str, dict[str, str]]):
        self.moves, self.splits = moves, splits

    def new_name(self, old: str, name: str | None = None) -> str | None:
        if name and old in self.splits and name in self.splits[old]:
            return self.splits[old][name]
        return self.moves.get(old)

    def file_moves(self) -> dict[Path, Path]:
        out = {}
        for old, new in self.moves.items():
            src = mod_to_path(old)
            if src.exists():
                out[src] = mod_to_path(new)
        return out

    # -- python import statements ---------------------------------------------------------------
    def import_edits(self, path: Path, src: str, new_path: Path) -> list[tuple[int, int, str]]:
        mod, is_pkg = path_to_mod(path)
        new_mod, _ = path_to_mod(new_path) if new_path != path else (mod, is_pkg)
        moved_file = new_path != path
        try:
            tree = ast.parse(src)
        except SyntaxError:
            return []
        lines = src.splitlines(keepends=True)
        offs = [0]
        for ln in lines:
            offs.append(offs[-1] + len(ln))
        edits = []
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            target = resolve(node, mod, is_pkg)
            groups: dict[str, list[str]] = {}
            changed = False
            for a in node.names:
                as_mod = f"{target}.{a.name}"
                if as_mod in self.moves:  # `from . import config`
                    new = self.moves[as_mod]
                    parent, last = new.rsplit(".", 1)
                    alias = a.asname or (a.name if last != a.name else None)
                    groups.setdefault(parent, []).append(last + (f" as {alias}" if alias else ""))
                    changed = True
                    continue
                new = self.new_name(target, a.name)
                if new:
                    changed = True
                dest = new or target
                groups.setdefault(dest, []).append(a.name + (f" as {a.asname}" if a.asname else ""))
            if not changed and not (moved_file and node.level):
                continue
            indent = lines[node.lineno - 1][: node.col_offset]
            stmts = []
            for dest, names in groups.items():
                spec = relative(dest, new_mod, is_pkg) if node.level else dest
                stmts.append(self.emit(spec, names, indent))
            start = offs[node.lineno - 1] + node.col_offset
            end = offs[node.end_lineno - 1] + node.end_col_offset
            edits.append((start, end, ("\n" + indent).join(stmts)))
        return sorted(edits)

    @staticmethod
    def emit(spec: str, names: list[str], indent: str) -> str:
        one = f"from {spec} import {', '.join(names)}"
        if len(indent) + len(one) <= 110:
            return one
        out, line = [], f"from {spec} import ("
        for i, n in enumerate(names):
            piece = n + (", " if i < len(names) - 1 else ")")
            if len(indent) + len(line) + len(piece) > 110 and line.strip():
                out.append(line.rstrip())
                line = indent + "    "
            line += piece
        out.append(line)
        return "\n".join(out)

    # -- dotted names and file paths in any text -----------------------------------------------
    def text_pattern(self) -> re.Pattern:
        names = sorted(self.moves, key=len, reverse=True)
        dotted = "|".join(re.escape(n) for n in names)
        slashed = "|".join(re.escape(n.replace(".", "/")) + r"\.py" for n in names)
        return re.compile(rf"(?<![\w.])(?:(?P<d>{dotted})(?![\w])|(?P<s>{slashed})(?![\w]))")

    def rewrite_text(self, text: str, pat: re.Pattern) -> str:
        def sub(m: re.Match) -> str:
            if m.group("d"):
                return self.moves[m.group("d")]
            old = m.group("s")[:-3].replace("/", ".")
            return self.moves[old].replace(".", "/") + ".py"
        return pat.sub(sub, text)


def tracked() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / f for f in out.splitlines() if f.endswith(TEXT) or Path(f).name in TEXT_NAMES]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("moves", nargs="+", help="old.module=new.module")
    ap.add_argument("--split", action="append", default=[], help="old.module:Name=other.new.module")
    ap.add_argument("--skip", action="append", default=[], help="path prefix whose files are not rewritten")
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_intermixed_args(argv)
    moves = dict(m.split("=", 1) for m in args.moves)
    splits: dict[str, dict[str, str]] = {}
    for s in args.split:
        left, new = s.split("=", 1)
        old, name = left.split(":", 1)
        splits.setdefault(old, {})[name] = new
    mover = Mover(moves, splits)
    fmoves = mover.file_moves()
    pat = mover.text_pattern()
    results: dict[Path, str] = {}
    for path in tracked():
        rel = str(path.relative_to(ROOT))
        if not path.exists() or path.name == "move_modules.py":
            continue
        if rel.startswith(tuple(args.skip)) and path not in fmoves:
            continue
        src = path.read_text()
        new_path = fmoves.get(path, path)
        edits = mover.import_edits(path, src, new_path) if path.suffix == ".py" else []
        out, pos = [], 0
        for start, end, rep in edits:
            out += [mover.rewrite_text(src[pos:start], pat), rep]
            pos = end
        out.append(mover.rewrite_text(src[pos:], pat))
        text = "".join(out)
        if text != src or path in fmoves:
            results[path] = text
    for path, text in results.items():
        print(("move " + str(fmoves[path].relative_to(ROOT)) + " <- " if path in fmoves else "edit ")
              + str(path.relative_to(ROOT)))
    if args.dry_run:
        return 0
    for src, dst in fmoves.items():
        dst.parent.mkdir(parents=True, exist_ok=True)
        init = dst.parent / "__init__.py"
        if not init.exists() and dst.parent != ROOT:
            init.write_text(f'"""{dst.parent.name}."""\n')
            subprocess.run(["git", "add", str(init)], cwd=ROOT, check=True)
        subprocess.run(["git", "mv", str(src), str(dst)], cwd=ROOT, check=True)
    for path, text in results.items():
        fmoves.get(path, path).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
