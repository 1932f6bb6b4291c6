#!/usr/bin/env python3
"""Runs the PySpark snippets of docs/queries.md against a dataset and checks
that each gives the rows of the expected ```result block of its query (the
same block scripts/queries_check.py checks DuckDB against). Run by hand, not
in CI (it needs `pip install pyspark` and Java 17):

    scripts/queries_spark.py DATASET [--doc docs/queries.md]

The ```python blocks before the first query (the setup, which creates
`spark` and `ksurf()`) run first, in order; then each query's snippets run in
the same namespace and the last must leave its answer in `result`, a
DataFrame. As in the doc, paths are relative: the snippets run from a
temporary directory whose `dataset` links to DATASET. Exit code 1 when a
snippet fails, a query has no snippet, or a result differs.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import queries_check  # noqa: E402  (the doc parser and result rendering)


def plain(value):
    """Spark's Row values as the Python values DuckDB returns."""
    from pyspark.sql import Row

    if isinstance(value, Row):
        return {k: plain(v) for k, v in value.asDict(recursive=False).items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dataset")
    ap.add_argument("--doc", default="docs/queries.md")
    args = ap.parse_args()
    doc = args.doc
    setup, queries, errors = queries_check.pair_queries(
        doc, queries_check.parse_blocks(doc)
    )
    tmp = queries_check.in_dataset_dir(args.dataset)
    cwd = os.getcwd()
    os.chdir(tmp.name)
    namespace = {}
    passed = 0
    try:
        for block in setup:
            print(f"== setup, {doc}:{block.line}")
            exec(compile(block.text, f"{doc}:{block.line}", "exec"), namespace)
        for q in queries:
            if not q.snippets:
                errors.append(f"{doc}:{q.sql.line}: the query has no ```python snippet")
                continue
            namespace.pop("result", None)
            try:
                for block in q.snippets:
                    print(f"== {doc}:{block.line} (query at line {q.sql.line})")
                    exec(compile(block.text, f"{doc}:{block.line}", "exec"), namespace)
            except Exception as e:  # a failing snippet is reported, the others run
                errors.append(f"{doc}:{block.line}: the snippet failed: {e!r}")
                continue
            result = namespace.get("result")
            if result is None:
                errors.append(f"{doc}:{q.snippets[-1].line}: the snippet sets no `result`")
                continue
            rows = [[plain(v) for v in row] for row in result.collect()]
            problem = queries_check.compare(doc, q, result.columns, rows, "Spark")
            if problem:
                errors.append(problem)
            else:
                passed += 1
    finally:
        os.chdir(cwd)
        tmp.cleanup()
    for e in errors:
        print(e, file=sys.stderr)
    print(f"{doc}: {passed} of {len(queries)} Spark snippets gave their query's expected result")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
