#!/usr/bin/env python3
"""The doc is the test: runs every ```sql block of docs/queries.md with DuckDB
against a dataset and compares its rows with the ```result block that follows.

    scripts/queries_check.py DATASET [--doc docs/queries.md] [--show]

The queries read `dataset/<table>/...` relative to the working directory, as a
user would from the directory holding their dataset; the check runs them from
a temporary directory whose `dataset` is a link to DATASET. A result is
rendered as text (see `render`) and must equal the expected block exactly
(trailing spaces aside). Every ```sql block needs a ```result block right
after it (prose may sit between them), every ```result block needs its query,
a query returning more than one row must say its ORDER BY, and no other kind
of fenced block may appear (so no query hides in an unchecked block). `--show`
prints every query's rendered result (to update the doc after a deliberate
change to the dataset; read the diff before committing it).

Exit code: 0 when every query gives its expected result, 1 otherwise.
"""

import argparse
import difflib
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from decimal import Decimal

FENCE = re.compile(r"^```(\S*)\s*$")


@dataclass
class Block:
    """One fenced block of the doc: its info string, first content line, text."""

    lang: str
    line: int
    text: str


@dataclass
class Query:
    """A ```sql block, its expected ```result block, and the snippets
    (```python blocks) that follow it before the next query."""

    sql: Block
    expected: Block
    snippets: list


def parse_blocks(doc_path):
    """The fenced blocks of a Markdown file, in order."""
    blocks = []
    lang = None
    start = 0
    body = []
    with open(doc_path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for number, line in enumerate(lines, start=1):
        m = FENCE.match(line)
        if lang is None:
            if m:
                lang, start, body = m.group(1), number + 1, []
        elif line.strip() == "```":
            blocks.append(Block(lang, start, "\n".join(body)))
            lang = None
        else:
            body.append(line)
    if lang is not None:
        raise SystemExit(f"{doc_path}:{start - 1}: unterminated ``` block")
    return blocks


def pair_queries(doc_path, blocks):
    """Pairs each ```sql block with the ```result block after it, and the
    ```python blocks after that with the query. Returns (setup python
    blocks, queries, errors)."""
    setup, queries, errors = [], [], []
    i = 0
    while i < len(blocks):
        b = blocks[i]
        if b.lang == "sql":
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            if nxt is None or nxt.lang != "result":
                errors.append(
                    f"{doc_path}:{b.line}: ```sql block has no ```result block after it"
                )
                i += 1
                continue
            queries.append(Query(b, nxt, []))
            i += 2
            continue
        if b.lang == "result":
            errors.append(
                f"{doc_path}:{b.line}: ```result block does not follow a ```sql block"
            )
        elif b.lang == "python":
            (queries[-1].snippets if queries else setup).append(b)
        else:
            errors.append(
                f"{doc_path}:{b.line}: ```{b.lang} block: only ```sql, ```result "
                "and ```python blocks may appear (no query goes unchecked)"
            )
        i += 1
    return setup, queries, errors


def cell(value):
    """One value as text: NULL, true/false, [a, b], {k: v}."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(cell(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {cell(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(int(value))
    return str(value)


def render(columns, rows):
    """A result as an aligned text table followed by its row count."""
    table = [list(columns)] + [[cell(v) for v in row] for row in rows]
    widths = [max(len(r[c]) for r in table) for c in range(len(columns))]
    out = []
    for n, r in enumerate(table):
        out.append(" | ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
        if n == 0:
            out.append("-+-".join("-" * w for w in widths))
    out.append(f"({len(rows)} row{'' if len(rows) == 1 else 's'})")
    return "\n".join(out)


def normalise(text):
    return [line.rstrip() for line in text.strip("\n").split("\n")]


def compare(doc_path, query, columns, rows, engine):
    """None when the rendered rows equal the expected block, else a
    message with a diff."""
    if len(rows) > 1 and not re.search(r"\border\s+by\b", query.sql.text, re.I):
        return (
            f"{doc_path}:{query.sql.line}: the query returns {len(rows)} rows "
            "but has no ORDER BY: its expected order is not guaranteed"
        )
    actual = normalise(render(columns, rows))
    expected = normalise(query.expected.text)
    if actual == expected:
        return None
    diff = "\n".join(
        difflib.unified_diff(
            expected,
            actual,
            fromfile=f"{doc_path}:{query.expected.line} (expected)",
            tofile=f"{engine} result of the query at line {query.sql.line}",
            lineterm="",
        )
    )
    return (
        f"{doc_path}:{query.sql.line}: {engine} result differs from the "
        f"expected block at line {query.expected.line}:\n{diff}"
    )


def in_dataset_dir(dataset):
    """A temporary directory holding `dataset` -> DATASET, to run the doc's
    relative paths from."""
    if not os.path.isdir(dataset):
        raise SystemExit(f"{dataset}: not a directory (build the dataset first)")
    tmp = tempfile.TemporaryDirectory(prefix="ksurf-queries-")
    os.symlink(os.path.abspath(dataset), os.path.join(tmp.name, "dataset"))
    return tmp


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset", help="the dataset directory the queries read")
    ap.add_argument("--doc", default="docs/queries.md")
    ap.add_argument("--show", action="store_true", help="print every result")
    args = ap.parse_args()

    import duckdb

    doc = args.doc
    _, queries, errors = pair_queries(doc, parse_blocks(doc))
    if not queries and not errors:
        errors.append(f"{doc}: no ```sql block found")
    tmp = in_dataset_dir(args.dataset)
    cwd = os.getcwd()
    os.chdir(tmp.name)
    passed = 0
    try:
        for q in queries:
            con = duckdb.connect()
            try:
                rel = con.sql(q.sql.text)
                columns, rows = rel.columns, rel.fetchall()
            except duckdb.Error as e:
                errors.append(f"{doc}:{q.sql.line}: the query failed: {e}")
                continue
            finally:
                con.close()
            if args.show:
                print(f"-- {doc}:{q.sql.line}\n{render(columns, rows)}\n")
            problem = compare(doc, q, columns, rows, "DuckDB")
            if problem:
                errors.append(problem)
            else:
                passed += 1
    finally:
        os.chdir(cwd)
        tmp.cleanup()
    for e in errors:
        print(e, file=sys.stderr)
    print(f"{doc}: {passed} of {len(queries)} queries gave their expected result")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
