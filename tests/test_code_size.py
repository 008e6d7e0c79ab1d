"""Small parts (issue 13): no module in src/ over 400 lines, no function over 50, measured
with `ast` (a function's lines run from its first decorator to its last statement)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
MODULE_LINES = 400
FUNCTION_LINES = 50


def module_lines(text: str) -> int:
    return len(text.splitlines())


def long_functions(tree: ast.AST, limit: int = FUNCTION_LINES) -> list[tuple[str, int]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = (node.end_lineno or node.lineno) - first + 1
            if length > limit:
                out.append((f"{node.name} (line {node.lineno})", length))
    return out


def test_no_module_over_400_lines() -> None:
    sizes = {str(p.relative_to(SRC)): module_lines(p.read_text()) for p in SRC.rglob("*.py")}
    assert len(sizes) > 20
    assert {p: n for p, n in sizes.items() if n > MODULE_LINES} == {}


def test_no_function_over_50_lines() -> None:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        if long := long_functions(ast.parse(path.read_text(), str(path))):
            found[str(path.relative_to(SRC))] = long
    assert found == {}


def test_the_measure_counts_decorators_nested_and_async_functions() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(49))
    code = f"@dec\ndef f():\n{body}\n\nclass C:\n    async def g(self):\n        pass\n"
    assert long_functions(ast.parse(code)) == [("f (line 2)", 51)]
    assert long_functions(ast.parse(code), limit=51) == []
    nested = "def outer():\n    def inner():\n" + "\n".join(f"        y{i} = 0" for i in range(51))
    assert [name for name, _ in long_functions(ast.parse(nested))] == [
        "outer (line 1)",
        "inner (line 2)",
    ]
