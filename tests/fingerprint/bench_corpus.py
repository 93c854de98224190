"""Time corral's engine and Django's post-processing on a corpus: cold, no change, one change.

Usage: ``python tests/fingerprint/bench_corpus.py CORPUS_DIR [--modules]`` (not collected by
pytest). Prints one JSON object. What is measured:

* corral: :func:`fingerprint` with ``read`` going to disk, given the facts (SHA-256 and size,
  which the pipeline's scan already has); ``facts_s`` is the time to compute those facts.
  The engine writes nothing.
* Django: ``ManifestStaticFilesStorage.post_process`` over the files already copied into
  STATIC_ROOT (what collectstatic does after copying), which reads, hashes and writes
  every hashed file and the manifest, in a subprocess.

"One change" appends a comment to the most referenced CSS/JS file with referrers.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from corral.fingerprint import FileFacts, FingerprintOptions, fingerprint

DJANGO = r"""
import json, shutil, sys, time
from pathlib import Path
import django
from django.conf import settings
settings.configure(
    DEBUG=False, STATIC_URL="/static/", INSTALLED_APPS=["django.contrib.staticfiles"]
)
django.setup()
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from django.core.files.storage import FileSystemStorage
src, root, modules, changed = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4]
class Storage(ManifestStaticFilesStorage):
    support_js_module_import_aggregation = modules
names = sorted(p.relative_to(src).as_posix() for p in Path(src).rglob("*") if p.is_file())
def phase():
    for n in names:
        (Path(root) / n).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(src) / n, Path(root) / n)
    storage = Storage(location=root, base_url="/static/")
    paths = {n: (FileSystemStorage(location=src), n) for n in names}
    start = time.perf_counter()
    error = None
    for _, _, processed in storage.post_process(paths):
        if isinstance(processed, Exception):
            error = f"{type(processed).__name__}: {processed}"
            break
    return {"seconds": round(time.perf_counter() - start, 3), "error": error}
out = {"cold": phase(), "no_change": phase()}
with open(Path(src) / changed, "ab") as fh:
    fh.write(b"\n/* edited */\n")
out["one_change"] = phase()
print(json.dumps(out))
"""


def main() -> None:
    corpus = Path(sys.argv[1])
    modules = "--modules" in sys.argv
    options = FingerprintOptions(modules=modules)
    work = Path(tempfile.mkdtemp(prefix="fpbench-"))
    src = work / "src"
    shutil.copytree(corpus, src)
    names = sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file())
    reads: Counter[str] = Counter()

    def read(logical: str) -> bytes:
        reads[logical] += 1
        return (src / logical).read_bytes()

    def facts() -> dict[str, FileFacts]:
        out = {}
        for n in names:
            data = (src / n).read_bytes()
            out[n] = FileFacts(n, hashlib.sha256(data).hexdigest(), len(data))
        return out

    report: dict[str, object] = {"files": len(names), "modules": modules}
    start = time.perf_counter()
    files = facts()
    report["facts_s"] = round(time.perf_counter() - start, 3)

    def timed(previous: dict[str, object]) -> dict[str, object]:
        reads.clear()
        start = time.perf_counter()
        result = fingerprint(files, read, previous, options)  # type: ignore[arg-type]
        seconds = round(time.perf_counter() - start, 3)
        return {
            "seconds": seconds,
            "processed": len(result.processed),
            "reads": sum(reads.values()),
            "problems": len(result.problems),
            "warnings": len(result.warnings),
            "cycles": len(result.cycles),
            "_result": result,
        }

    cold = timed({})
    result = cold.pop("_result")
    no_change = timed(result.fingerprints)  # type: ignore[attr-defined]
    no_change.pop("_result")
    referrers: Counter[str] = Counter()
    for fp in result.fingerprints.values():  # type: ignore[attr-defined]
        referrers.update(fp.deps)
    changed = next(
        n for n, _ in referrers.most_common() if n.endswith((".css", ".js")) and n in files
    )
    with (src / changed).open("ab") as fh:
        fh.write(b"\n/* edited */\n")
    files = facts()
    one = timed(result.fingerprints)  # type: ignore[attr-defined]
    one.pop("_result")
    report["changed"] = changed
    report["corral"] = {"cold": cold, "no_change": no_change, "one_change": one}
    # Django on a pristine copy, the same edit in its third phase.
    shutil.rmtree(src)
    shutil.copytree(corpus, src)
    root = work / "root"
    root.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", DJANGO, str(src), str(root), "1" if modules else "0", changed],
        capture_output=True,
        text=True,
        check=True,
    )
    report["django"] = json.loads(proc.stdout)
    shutil.rmtree(work)
    json.dump(report, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
