#!/usr/bin/env python3
"""Writes each ```cpp block of a Markdown file to OUT_DIR/<prefix>_<n>.cpp, so
the build compiles the documentation's programs (tests/CMakeLists.txt).

usage: extract_snippets.py MARKDOWN OUT_DIR PREFIX
Prints the names written (one per line) and removes stale ones."""
import pathlib
import re
import sys


def main():
    markdown, out_dir, prefix = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
    text = pathlib.Path(markdown).read_text(encoding="utf-8")
    blocks = re.findall(r"^```cpp\n(.*?)^```", text, re.S | re.M)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for n, block in enumerate(blocks, start=1):
        name = f"{prefix}_{n:02d}"
        path = out_dir / f"{name}.cpp"
        content = f"// Extracted from {markdown} (block {n}); do not edit.\n{block}"
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
        names.append(name)
    for stale in out_dir.glob(f"{prefix}_*.cpp"):
        if stale.stem not in names:
            stale.unlink()
    print("\n".join(names))


if __name__ == "__main__":
    main()
