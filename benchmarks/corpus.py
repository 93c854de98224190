#!/usr/bin/env python3
"""Build a benchmark corpus of real third-party static files.

``python benchmarks/corpus.py build --size small|medium|full|large|smoke --out DIR`` installs the
pinned packages (``requirements.txt`` with pip into the benchmark virtualenv,
``package.json``/``package-lock.json`` with ``npm ci`` into ``DIR/node_modules``) and lays
out, under ``DIR``:

- ``django/``: a Django project (``manage.py``, ``benchsite/settings.py``) whose
  ``STATICFILES_DIRS`` point at the npm packages' dist directories (with URL prefixes) and
  whose ``INSTALLED_APPS`` hold the Django apps. The storage is chosen per run by the
  environment: ``BENCH_STORAGE=static|manifest|whitenoise|corral|corral-static`` and
  ``BENCH_STATIC_ROOT=DIR``.
- ``corral/pyproject.toml``: a plain corral project with the same sources in the same
  priority order (Django's finder order: ``STATICFILES_DIRS`` first, then apps in
  ``INSTALLED_APPS`` order).
- ``corpus.json``: the sources, file counts and bytes per source and in total, and the
  package versions.

The ``smoke`` size needs no network: it is generated from a fixed seed (about 50 files) so
CI can run the benchmark offline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import hashlib
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SIZES = ("smoke", "small", "medium", "full", "large")
#: Django's default ignore patterns (``collectstatic`` without ``--no-default-ignore``).
DEFAULT_IGNORE = ("CVS", ".*", "*~")
CORPUS_FORMAT = 1


# --- what goes into each size ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NpmDir:
    """A directory inside an installed npm package, collected under ``prefix``."""

    package: str
    subdir: str
    prefix: str


_NPM_SMALL = (
    NpmDir("bootstrap", "dist", "vendor/bootstrap"),
    NpmDir("@popperjs/core", "dist", "vendor/popper"),
    NpmDir("leaflet", "dist", "vendor/leaflet"),
    NpmDir("jquery", "dist", "vendor/jquery"),
)
_NPM_MEDIUM = (
    *_NPM_SMALL,
    NpmDir("@fortawesome/fontawesome-free", "css", "vendor/fontawesome/css"),
    NpmDir("@fortawesome/fontawesome-free", "js", "vendor/fontawesome/js"),
    NpmDir("@fortawesome/fontawesome-free", "webfonts", "vendor/fontawesome/webfonts"),
    NpmDir("@fortawesome/fontawesome-free", "svgs", "vendor/fontawesome/svgs"),
    NpmDir("swagger-ui-dist", "", "vendor/swagger-ui"),
    NpmDir("pdfjs-dist", "build", "vendor/pdfjs/build"),
    NpmDir("pdfjs-dist", "web", "vendor/pdfjs/web"),
    NpmDir("pdfjs-dist", "cmaps", "vendor/pdfjs/cmaps"),
    NpmDir("pdfjs-dist", "standard_fonts", "vendor/pdfjs/standard_fonts"),
    NpmDir("tinymce", "", "vendor/tinymce"),
    NpmDir("mathjax", "es5", "vendor/mathjax"),
    NpmDir("bootstrap-icons", "font", "vendor/bootstrap-icons/font"),
    NpmDir("chart.js", "dist", "vendor/chartjs"),
    NpmDir("katex", "dist", "vendor/katex"),
)
_NPM_LARGE = (
    *_NPM_MEDIUM,
    NpmDir("ace-builds", "src-min-noconflict", "vendor/ace"),
    NpmDir("bootstrap-icons", "icons", "vendor/bootstrap-icons/icons"),
    NpmDir("@fortawesome/fontawesome-free", "svgs-full", "vendor/fontawesome/svgs-full"),
    NpmDir("@fortawesome/fontawesome-free", "sprites", "vendor/fontawesome/sprites"),
    NpmDir("pdfjs-dist", "legacy", "vendor/pdfjs/legacy"),
)

_BASE_APPS = (
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
)
_APPS_SMALL = (*_BASE_APPS, "rest_framework", "debug_toolbar")
# Admin themes go before django.contrib.admin (they override its templates and a few of its
# static files: first found wins, so these are real duplicate-path conflicts).
_APPS_MEDIUM = (
    "jazzmin",
    "grappelli",
    *_APPS_SMALL,
    "django_ckeditor_5",
    "tinymce",
    "drf_spectacular_sidecar",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.table_block",
    "wagtail.contrib.typed_table_block",
    "wagtail.contrib.search_promotions",
    "wagtail.contrib.styleguide",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "treebeard",
)


@dataclass(frozen=True, slots=True)
class SizeSpec:
    name: str
    npm: tuple[NpmDir, ...]
    apps: tuple[str, ...]
    asset_pages: int  # how many generated "page" bundles the site's own assets have
    replicas: int  # extra copies of every source under rN/ prefixes
    description: str


SIZE_SPECS: dict[str, SizeSpec] = {
    "smoke": SizeSpec("smoke", (), (), 6, 0, "about 50 generated files, no network needed"),
    "small": SizeSpec(
        "small",
        _NPM_SMALL,
        _APPS_SMALL,
        8,
        0,
        "hundreds of files: Django admin, DRF, debug toolbar, Bootstrap, Popper, Leaflet, jQuery",
    ),
    "medium": SizeSpec(
        "medium",
        _NPM_MEDIUM,
        _APPS_MEDIUM,
        16,
        0,
        "thousands of files: small + Wagtail, Jazzmin, Grappelli, CKEditor 5, TinyMCE, "
        "Swagger UI, pdf.js, Font Awesome, MathJax, Chart.js, KaTeX",
    ),
    "full": SizeSpec(
        "full",
        _NPM_LARGE,
        _APPS_MEDIUM,
        32,
        0,
        "about eleven thousand files: every real package of large, once (no replicas); "
        "the size of the Django project issue #4 measures (11,516 files, 240 MB)",
    ),
    "large": SizeSpec(
        "large",
        _NPM_LARGE,
        _APPS_MEDIUM,
        32,
        4,
        "tens of thousands of files: medium + Ace, icon sets, pdf.js legacy, and 4 replicas "
        "of every source under r1/..r4/ prefixes (text files made distinct per replica)",
    ),
}


# --- records written to corpus.json ----------------------------------------------------


@dataclass(slots=True)
class SourceRecord:
    """One source directory, in priority order, as both projects see it."""

    label: str
    kind: str  # "generated" | "npm" | "app" | "replica"
    prefix: str
    path: str
    files: int = 0
    bytes: int = 0
    origin: str = ""  # npm package / app label / replicated label


@dataclass(slots=True)
class Corpus:
    size: str
    directory: str
    created: str
    sources: list[SourceRecord] = field(default_factory=list)
    files: int = 0  # every collectable file in every source
    bytes: int = 0
    logical_files: int = 0  # distinct logical paths after first-wins
    logical_bytes: int = 0
    conflicts: int = 0  # files shadowed by an earlier source
    by_extension: dict[str, int] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    python: str = ""  # the interpreter that has Django etc. (empty: none)
    installed_apps: list[str] = field(default_factory=list)
    format: int = CORPUS_FORMAT

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def load(cls, directory: Path) -> Corpus:
        """Read ``DIR/corpus.json``."""
        data = json.loads((directory / "corpus.json").read_text())
        sources = [SourceRecord(**s) for s in data.pop("sources")]
        return cls(sources=sources, **data)


# --- walking sources (Django's ignore rules) --------------------------------------------


def _ignored(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in DEFAULT_IGNORE)


def walk_source(root: Path) -> Iterator[tuple[str, Path]]:
    """Yield ``(relative posix path, absolute path)`` of every collectable file, sorted.

    Follows Django's default ignore patterns on file and directory names; follows
    symlinks like ``os.walk(followlinks=True)`` as Django's ``FileSystemStorage`` does.
    """
    stack = [root]
    found: list[tuple[str, Path]] = []
    while stack:
        directory = stack.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                if _ignored(entry.name):
                    continue
                if entry.is_dir():
                    stack.append(Path(entry.path))
                elif entry.is_file():
                    path = Path(entry.path)
                    found.append((path.relative_to(root).as_posix(), path))
    found.sort()
    yield from found


def logical_files(sources: Sequence[SourceRecord]) -> dict[str, Path]:
    """Map every logical path to the file that wins it (first source wins)."""
    winners: dict[str, Path] = {}
    for source in sources:
        for rel, path in walk_source(Path(source.path)):
            logical = f"{source.prefix}/{rel}" if source.prefix else rel
            winners.setdefault(logical, path)
    return winners


def measure(corpus: Corpus) -> None:
    """Fill in counts and bytes for each source and the totals."""
    seen: set[str] = set()
    corpus.files = corpus.bytes = corpus.logical_files = corpus.logical_bytes = 0
    corpus.conflicts = 0
    by_ext: dict[str, int] = {}
    for source in corpus.sources:
        source.files = source.bytes = 0
        for rel, path in walk_source(Path(source.path)):
            size = path.stat().st_size
            source.files += 1
            source.bytes += size
            logical = f"{source.prefix}/{rel}" if source.prefix else rel
            if logical in seen:
                corpus.conflicts += 1
                continue
            seen.add(logical)
            corpus.logical_files += 1
            corpus.logical_bytes += size
            ext = Path(rel).suffix.lower() or "(none)"
            by_ext[ext] = by_ext.get(ext, 0) + 1
        corpus.files += source.files
        corpus.bytes += source.bytes
    corpus.by_extension = dict(sorted(by_ext.items(), key=lambda kv: (-kv[1], kv[0])))


# --- generated assets (the site's own files; all of smoke) --------------------------------


def _png(width: int, height: int, rng: random.Random) -> bytes:
    """A valid, deterministic RGB PNG with noisy pixels (so it does not compress away)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + rng.randbytes(width * 3) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


_WORDS = (
    "layout",
    "grid",
    "panel",
    "header",
    "footer",
    "button",
    "card",
    "modal",
    "toolbar",
    "sidebar",
    "content",
    "navigation",
    "dropdown",
    "tooltip",
    "popover",
    "badge",
    "alert",
    "table",
    "form",
    "input",
    "select",
)


def _css_rules(rng: random.Random, count: int) -> str:
    rules = []
    for i in range(count):
        name = f"{rng.choice(_WORDS)}-{rng.choice(_WORDS)}-{i}"
        rules.append(
            f".{name} {{\n  margin: {rng.randint(0, 32)}px {rng.randint(0, 32)}px;\n"
            f"  color: #{rng.randrange(0x1000000):06x};\n"
            f"  padding: {rng.randint(0, 16)}px;\n}}\n"
        )
    return "".join(rules)


def _js_body(rng: random.Random, count: int) -> str:
    lines = []
    for i in range(count):
        a, b = rng.choice(_WORDS), rng.choice(_WORDS)
        lines.append(
            f"export function {a}_{b}_{i}(el) {{\n"
            f"  // toggles the {a} {b}\n"
            f"  el.classList.toggle('{a}-{b}-{i}');\n  return {rng.randint(0, 999)};\n}}\n"
        )
    return "".join(lines)


def _write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)


def generate_site_assets(root: Path, pages: int, seed: int = 6) -> None:
    """Write the site's own assets: CSS with ``url()``/``@import``, ES modules (with a
    cycle), a source map, images, a font and JSON. Every reference resolves.
    """
    rng = random.Random(seed)
    _write(root / "img/logo.png", _png(48, 48, rng))
    _write(root / "img/bg.png", _png(96, 64, rng))
    _write(root / "fonts/site.woff2", rng.randbytes(9000))
    for i in range(pages):
        _write(root / f"img/page{i}.png", _png(24 + i, 24, rng))
        _write(
            root / f"img/icons/icon{i}.svg",
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
            f'<circle cx="8" cy="8" r="{1 + i % 7}" fill="#{rng.randrange(0x1000000):06x}"/>'
            f"</svg>\n",
        )
        _write(
            root / f"css/pages/page{i}.css",
            f'@import url("../base.css");\n'
            f".page-{i} {{ background: url(../../img/page{i}.png) no-repeat; }}\n"
            f'.page-{i} .icon {{ background-image: url("../../img/icons/icon{i}.svg"); }}\n'
            + _css_rules(rng, 20 + 5 * i),
        )
        _write(
            root / f"js/pages/page{i}.js",
            'import { ready } from "../lib/util.js";\n'
            'import * as a from "../lib/a.js";\n'
            + _js_body(rng, 10 + 3 * i)
            + f"ready(() => a.start({i}));\n",
        )
        _write(
            root / f"data/page{i}.json",
            json.dumps({"page": i, "words": rng.sample(_WORDS, 8)}, indent=2) + "\n",
        )
    _write(
        root / "css/base.css",
        "body { background: url('../img/bg.png'); }\n"
        '@font-face { font-family: Site; src: url("../fonts/site.woff2") format("woff2"); }\n'
        + _css_rules(rng, 40),
    )
    imports = "".join(f'@import "pages/page{i}.css";\n' for i in range(min(pages, 4)))
    _write(
        root / "css/site.css",
        imports
        + '@import url("base.css");\n'
        + ".logo { background: url(../img/logo.png) center / contain; }\n"
        + _css_rules(rng, 60),
    )
    _write(
        root / "js/lib/util.js",
        "export function ready(fn) {\n"
        "  if (document.readyState !== 'loading') fn();\n"
        "  else document.addEventListener('DOMContentLoaded', fn);\n}\n" + _js_body(rng, 15),
    )
    # a.js and b.js import each other: an ES module cycle, like @popperjs/core's.
    _write(
        root / "js/lib/a.js",
        'import { stop } from "./b.js";\n'
        "export function start(n) { return stop(n + 1); }\n" + _js_body(rng, 8),
    )
    _write(
        root / "js/lib/b.js",
        'import { start } from "./a.js";\n'
        "export function stop(n) { return n > 9 ? n : start(n); }\n" + _js_body(rng, 8),
    )
    _write(
        root / "js/app.js",
        'import { ready } from "./lib/util.js";\nimport { start } from "./lib/a.js";\n'
        "ready(() => start(0));\n" + _js_body(rng, 30) + "//# sourceMappingURL=app.js.map\n",
    )
    _write(
        root / "js/app.js.map",
        json.dumps(
            {
                "version": 3,
                "file": "app.js",
                "sources": ["../src/app.ts"],
                "names": [],
                "mappings": "AAAA;" * 40,
            },
        )
        + "\n",
    )
    _write(root / "robots.txt", "User-agent: *\nDisallow:\n")


def generate_smoke_vendor(root: Path, seed: int = 7) -> None:
    """A dist-like vendor package (CSS → font, minified JS with a source map)."""
    rng = random.Random(seed)
    _write(root / "fonts/demo.woff", rng.randbytes(4000))
    _write(
        root / "css/demo.css",
        '@font-face { font-family: Demo; src: url("../fonts/demo.woff") format("woff"); }\n'
        + _css_rules(rng, 30)
        + "/*# sourceMappingURL=demo.css.map */\n",
    )
    _write(
        root / "css/demo.css.map",
        json.dumps({"version": 3, "file": "demo.css", "sources": [], "names": [], "mappings": ""}),
    )
    _write(
        root / "js/demo.min.js",
        _js_body(rng, 40).replace("\n  ", "") + "//# sourceMappingURL=demo.min.js.map\n",
    )
    _write(
        root / "js/demo.min.js.map",
        json.dumps(
            {"version": 3, "file": "demo.min.js", "sources": [], "names": [], "mappings": ""}
        ),
    )
    for i in range(5):
        _write(root / f"img/sprite{i}.png", _png(16, 16, rng))
    _write(root / "README.md", "# demo vendor package (generated)\n")


def generate_smoke_overrides(root: Path, seed: int = 8) -> None:
    """A lower-priority source that shadows one site file (a duplicate-path conflict)."""
    rng = random.Random(seed)
    _write(root / "robots.txt", "User-agent: *\nDisallow: /shadowed\n")
    _write(root / "css/extra.css", _css_rules(rng, 10))
    _write(root / "js/extra.js", _js_body(rng, 5))


# --- installing --------------------------------------------------------------------------


def _run(cmd: Sequence[str | os.PathLike[str]], *, cwd: Path | None = None) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=cwd, check=True)


def _sha256(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path, *, with_corral: bool) -> Path:
    """Create ``venv`` if needed and install ``requirements.txt`` (skipped when unchanged).

    With ``with_corral``, also install this checkout editable once it has a CLI, so the
    runner can time ``corral`` and ``corral.contrib.django`` from the same environment.
    """
    python = venv_python(venv)
    if not python.exists():
        _run([sys.executable, "-m", "venv", venv])
    requirements = HERE / "requirements.txt"
    stamp = venv / ".corral-bench-requirements"
    wanted = _sha256(requirements)
    if not stamp.exists() or stamp.read_text().strip() != wanted:
        _run(
            [
                python,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-r",
                requirements,
            ]
        )
        stamp.write_text(wanted + "\n")
    if with_corral and (REPO / "src/corral/cli.py").exists():
        # Every time: corral's own dependencies change as it grows (brotli, zstandard, ...).
        _run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", REPO])
    return python


def ensure_node_modules(out: Path) -> None:
    """Install the pinned front-end packages into ``out/node_modules`` (skipped when the
    lock file is unchanged). Install scripts and optional native dependencies are skipped:
    only the packages' files are wanted.

    ``npm ci`` is tried first; it refuses this lock file on some npm versions because
    pdfjs-dist's optional native dependency (@napi-rs/canvas) lists per-platform packages
    that a lock written on Linux does not hold (npm/cli#4828), so ``npm install`` with the
    same lock (exact versions, integrity-checked) is the fallback.
    """
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(HERE / name, out / name)
    stamp = out / "node_modules" / ".corral-bench-lock"
    wanted = _sha256(HERE / "package-lock.json")
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return
    flags = ["--ignore-scripts", "--omit=optional", "--no-audit", "--no-fund", "--loglevel=error"]
    print("+ npm ci " + " ".join(flags), flush=True)
    done = subprocess.run(
        ["npm", "ci", *flags], cwd=out, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        reason = next((line for line in done.stderr.splitlines() if "Missing:" in line), "")
        print(
            f"npm ci refused the lock file ({reason.removeprefix('npm error ')}); "
            "installing the same pins with npm install"
        )
        _run(["npm", "install", *flags], cwd=out)
    stamp.write_text(wanted + "\n")


# --- the two projects ---------------------------------------------------------------------

_SETTINGS = '''\
"""Django settings for the corral benchmark corpus (generated by benchmarks/corpus.py).

Choose the storage per run with BENCH_STORAGE and the target with BENCH_STATIC_ROOT:
  static         django.contrib.staticfiles.storage.StaticFilesStorage
  manifest       django.contrib.staticfiles.storage.ManifestStaticFilesStorage
  whitenoise     whitenoise.storage.CompressedManifestStaticFilesStorage
  corral         corral.contrib.django.storage.ManifestStaticFilesStorage, collectstatic
                 by corral (corral.contrib.django listed before django.contrib.staticfiles)
  corral-static  corral.contrib.django.storage.StaticFilesStorage, collectstatic by corral
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "corral-benchmark-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "benchsite.urls"
USE_TZ = True
DATABASES = {{
    "default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {{
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {{
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        }},
    }}
]
WAGTAIL_SITE_NAME = "bench"

BENCH_STORAGE = os.environ.get("BENCH_STORAGE", "static")
_BACKENDS = {{
    "static": "django.contrib.staticfiles.storage.StaticFilesStorage",
    "manifest": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage",
    "whitenoise": "whitenoise.storage.CompressedManifestStaticFilesStorage",
    "corral": "corral.contrib.django.storage.ManifestStaticFilesStorage",
    "corral-static": "corral.contrib.django.storage.StaticFilesStorage",
}}
if BENCH_STORAGE not in _BACKENDS:
    raise RuntimeError(
        f"BENCH_STORAGE must be one of {{sorted(_BACKENDS)}}, not {{BENCH_STORAGE!r}}"
    )

INSTALLED_APPS = {apps}
if BENCH_STORAGE.startswith("corral"):
    INSTALLED_APPS.insert(0, "corral.contrib.django")

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("BENCH_STATIC_ROOT", BASE_DIR / "static_root"))
STATICFILES_DIRS = {dirs}
STORAGES = {{
    "default": {{"BACKEND": "django.core.files.storage.FileSystemStorage"}},
    "staticfiles": {{"BACKEND": _BACKENDS[BENCH_STORAGE]}},
}}
'''

_MANAGE = '''\
#!/usr/bin/env python
"""Django's command-line utility for the benchmark project (generated)."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchsite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
'''

# Printed by the Django python: the sources Django's finders use, in their order.
_PROBE = r"""
import json, sys
import django
django.setup()
from django.contrib.staticfiles import finders
out = []
for finder in finders.get_finders():
    if isinstance(finder, finders.FileSystemFinder):
        for prefix, root in finder.locations:
            out.append({"kind": "dirs", "prefix": prefix, "path": str(root), "origin": ""})
    elif isinstance(finder, finders.AppDirectoriesFinder):
        for name in finder.apps:
            storage = finder.storages[name]
            out.append({"kind": "app", "prefix": "", "path": storage.location, "origin": name})
json.dump(out, sys.stdout)
"""

_VERSIONS = r"""
import json, sys
from importlib import metadata
names = sys.argv[1:]
out = {}
for name in names:
    try:
        out[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        pass
json.dump(out, sys.stdout)
"""


def write_django_project(out: Path, apps: Sequence[str], dirs: Sequence[SourceRecord]) -> Path:
    project = out / "django"
    (project / "benchsite").mkdir(parents=True, exist_ok=True)
    app_list = "[\n" + "".join(f"    {a!r},\n" for a in apps) + "]"
    dir_list = (
        "[\n"
        + "".join(
            f"    ({d.prefix!r}, {d.path!r}),\n" if d.prefix else f"    {d.path!r},\n" for d in dirs
        )
        + "]"
    )
    (project / "benchsite" / "settings.py").write_text(
        _SETTINGS.format(apps=app_list, dirs=dir_list)
    )
    (project / "benchsite" / "__init__.py").write_text("")
    (project / "benchsite" / "urls.py").write_text("urlpatterns: list[object] = []\n")
    (project / "manage.py").write_text(_MANAGE)
    (project / "manage.py").chmod(0o755)
    return project


def _toml_key(value: str) -> str:
    return value if value.replace("-", "").replace("_", "").isalnum() else _toml_string(value)


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


_KINDS_PROBE = (
    "import json\nfrom corral.fingerprint.options import KINDS\nprint(json.dumps(list(KINDS)))"
)


def missing_reference_kinds(python: Path | str) -> list[str]:
    """The reference kinds whose missing-target policy this corral build lets us set (empty
    when corral is absent or predates fingerprinting)."""
    done = subprocess.run(
        [str(python), "-c", _KINDS_PROBE], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return []
    kinds: list[str] = json.loads(done.stdout)
    return kinds


def write_corral_project(
    out: Path, sources: Sequence[SourceRecord], *, lenient: Sequence[str] = ()
) -> Path:
    """``[tool.corral]`` with the same sources in the same priority order as Django's.

    ``lenient`` lists reference kinds whose missing targets only warn: real packages ship
    references to files they do not contain (source maps, an ES module import in
    django-ckeditor-5, images in some admin themes), and a user collecting them has to
    accept that to deploy at all. Django's Manifest storage does not look at JS imports and
    so never fails on them; with warnings, corral still finds and reports every one.
    """
    project = out / "corral"
    project.mkdir(parents=True, exist_ok=True)
    lines = [
        "# corral project for the benchmark corpus (generated by benchmarks/corpus.py).",
        "# Same sources, same priority order as the Django project in ../django.",
        "[project]",
        'name = "corral-bench-corpus"',
        'version = "0"',
        "",
        "[tool.corral]",
        'root = "static_root"',
        'url = "/static/"',
    ]
    if lenient:
        policy = ", ".join(f'{_toml_key(kind)} = "warn"' for kind in lenient)
        lines += [
            "# Third-party packages reference files they do not ship: warn, don't fail.",
            f"missing = {{ {policy} }}",
        ]
    lines += [
        "sources = [",
    ]
    for source in sources:
        if source.prefix:
            entry = f"dir = {_toml_string(source.path)}, prefix = {_toml_string(source.prefix)}"
            lines.append(f"  {{ {entry} }},  # {source.label}")
        else:
            lines.append(f"  {_toml_string(source.path)},  # {source.label}")
    lines.append("]")
    (project / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return project


# --- large: replicas --------------------------------------------------------------------

_CSS_LIKE = {".css", ".js", ".mjs", ".cjs"}
_XML_LIKE = {".svg", ".html", ".htm", ".xml"}
_JSON_LIKE = {".json", ".map", ".webmanifest"}


def mark(data: bytes, ext: str, marker: str) -> bytes:
    """Append ``marker`` to a file's bytes in a way its format tolerates.

    Used for replicas (so their content is distinct, as in a real large site) and by the
    runner to touch files. CSS/JS get a comment, SVG/HTML an XML comment, JSON trailing
    whitespace (its length encodes the marker's hash), anything else raw bytes.
    """
    ext = ext.lower()
    if ext in _CSS_LIKE:
        return data + f"\n/* {marker} */\n".encode()
    if ext in _XML_LIKE:
        return data + f"\n<!-- {marker} -->\n".encode()
    if ext in _JSON_LIKE:
        spaces = 1 + int(hashlib.md5(marker.encode()).hexdigest()[:4], 16) % 4096
        return data + b"\n" + b" " * spaces + b"\n"
    return data + f"\n{marker}\n".encode()


def replicate(source: SourceRecord, destination: Path, replica: int) -> SourceRecord:
    """Copy a source tree, making every text file's content distinct to this replica."""
    marker = f"corral-bench replica {replica}"
    for rel, path in walk_source(Path(source.path)):
        target = destination / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        ext = path.suffix.lower()
        if ext in _CSS_LIKE | _XML_LIKE | _JSON_LIKE:
            target.write_bytes(mark(path.read_bytes(), ext, marker))
        else:
            shutil.copyfile(path, target)
    prefix = f"r{replica}/{source.prefix}" if source.prefix else f"r{replica}"
    return SourceRecord(
        label=f"r{replica}:{source.label}",
        kind="replica",
        prefix=prefix,
        path=str(destination),
        origin=source.label,
    )


# --- build ------------------------------------------------------------------------------


def _npm_label(npm: NpmDir) -> str:
    return f"{npm.package}/{npm.subdir}" if npm.subdir else npm.package


def build(
    size: str,
    out: Path,
    *,
    venv: Path | None = None,
    install: bool = True,
    with_corral: bool = True,
    quiet: bool = False,
) -> Corpus:
    """Build the corpus of ``size`` in ``out`` and return what ``corpus.json`` records."""
    spec = SIZE_SPECS[size]
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    corpus = Corpus(
        size=size, directory=str(out), created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )

    python: Path | None = None
    if spec.apps:
        venv = (venv or HERE / ".venv").resolve()
        python = ensure_venv(venv, with_corral=with_corral) if install else venv_python(venv)
        if not python.exists():
            raise SystemExit(f"no Python at {python}: build without --no-install first")
        corpus.python = str(python)
    if spec.npm:
        if install:
            ensure_node_modules(out)
        elif not (out / "node_modules").is_dir():
            raise SystemExit(f"{out}/node_modules is missing: build without --no-install first")

    # Sources in Django's finder order: STATICFILES_DIRS first (the site's own assets, then
    # the npm dist directories), then each app's static/ in INSTALLED_APPS order.
    generated = out / "assets"
    if generated.exists():
        shutil.rmtree(generated)
    generate_site_assets(generated / "site", spec.asset_pages)
    dirs = [SourceRecord("site assets", "generated", "", str(generated / "site"))]
    if size == "smoke":
        generate_smoke_vendor(generated / "demo")
        generate_smoke_overrides(generated / "overrides")
        dirs.append(
            SourceRecord("demo vendor", "generated", "vendor/demo", str(generated / "demo"))
        )
        dirs.append(SourceRecord("overrides", "generated", "", str(generated / "overrides")))
    for npm in spec.npm:
        path = out / "node_modules" / npm.package / npm.subdir
        if not path.is_dir():
            raise SystemExit(f"npm package directory {path} is missing (npm ci failed?)")
        dirs.append(SourceRecord(_npm_label(npm), "npm", npm.prefix, str(path), origin=npm.package))

    replicas_dir = out / "replicas"
    if replicas_dir.exists():
        shutil.rmtree(replicas_dir)

    apps_sources: list[SourceRecord] = []
    if python is not None:
        project = write_django_project(out, spec.apps, dirs)
        probe = _django_probe(python, project)
        apps_sources = [
            SourceRecord(f"app {p['origin']}", "app", "", p["path"], origin=p["origin"])
            for p in probe
            if p["kind"] == "app"
        ]
    base = dirs + apps_sources
    replicas: list[SourceRecord] = []
    for replica in range(1, spec.replicas + 1):
        for index, source in enumerate(base):
            replicas.append(
                replicate(source, replicas_dir / f"r{replica}" / f"s{index:02d}", replica)
            )
    # Replicas go into STATICFILES_DIRS (after the originals, before the apps).
    all_dirs = dirs + replicas
    write_django_project(out, spec.apps if python else ("django.contrib.staticfiles",), all_dirs)
    corpus.installed_apps = list(spec.apps) if python else ["django.contrib.staticfiles"]
    corpus.sources = all_dirs + apps_sources
    if python is not None:
        _check_django_sees(python, out / "django", corpus.sources)
    lenient = missing_reference_kinds(python) if python is not None else []
    write_corral_project(out, corpus.sources, lenient=lenient)
    measure(corpus)
    corpus.versions = _versions(python, out, spec)
    (out / "corpus.json").write_text(json.dumps(corpus.to_json(), indent=2) + "\n")
    _write_gitignore(out)
    if not quiet:
        print(summary(corpus))
    return corpus


def _django_probe(python: Path, project: Path) -> list[dict[str, str]]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "benchsite.settings", "BENCH_STORAGE": "static"}
    done = subprocess.run(
        [python, "-c", _PROBE], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"the Django project does not load:\n{done.stderr}")
    result: list[dict[str, str]] = json.loads(done.stdout)
    return result


def _check_django_sees(python: Path, project: Path, sources: Sequence[SourceRecord]) -> None:
    """The corral project must list exactly the directories Django's finders use."""
    probe = _django_probe(python, project)
    django_paths = [str(Path(p["path"]).resolve()) for p in probe]
    ours = [str(Path(s.path).resolve()) for s in sources]
    if django_paths != ours:
        raise SystemExit(
            "internal error: the corral project's sources differ from Django's finders:\n"
            f"django: {django_paths}\ncorral: {ours}"
        )


def main_requirements() -> list[str]:
    """The packages pinned for their own sake in requirements.txt (not the transitive ones)."""
    names = []
    for line in (HERE / "requirements.txt").read_text().splitlines():
        if "transitive" in line:
            break
        if "==" in line and not line.startswith("#"):
            names.append(line.split("==")[0].strip())
    return names


def _versions(python: Path | None, out: Path, spec: SizeSpec) -> dict[str, str]:
    versions: dict[str, str] = {}
    if python is not None:
        names = main_requirements()
        done = subprocess.run(
            [python, "-c", _VERSIONS, *names], capture_output=True, text=True, check=True
        )
        versions.update({f"pypi:{k}": v for k, v in json.loads(done.stdout).items()})
    for package in sorted({n.package for n in spec.npm}):
        manifest = out / "node_modules" / package / "package.json"
        if manifest.exists():
            versions[f"npm:{package}"] = json.loads(manifest.read_text())["version"]
    return versions


def _write_gitignore(out: Path) -> None:
    # A corpus directory is a build product; keep it out of git if it lands in a checkout.
    (out / ".gitignore").write_text("*\n")


def summary(corpus: Corpus) -> str:
    rows = [f"corpus {corpus.size} in {corpus.directory}"]
    for s in corpus.sources:
        rows.append(
            f"  {s.files:6d} files {s.bytes / 1e6:9.2f} MB  {s.prefix or '.':32s} {s.label}"
        )
    rows.append(
        f"  total: {corpus.files} files, {corpus.bytes / 1e6:.1f} MB in {len(corpus.sources)} "
        f"sources; {corpus.logical_files} logical paths ({corpus.logical_bytes / 1e6:.1f} MB), "
        f"{corpus.conflicts} shadowed duplicates"
    )
    return "\n".join(rows)


# --- command line -------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="corpus.py",
        description="Build a benchmark corpus of real third-party static files for corral.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=textwrap.dedent(
            """\
            sizes:
              smoke   about 50 generated files; no network, no Django needed (for CI)
              small   hundreds of files
              medium  thousands of files
              full    about eleven thousand files (every real package once)
              large   tens of thousands of files (real packages plus distinct replicas)

            example:
              python benchmarks/corpus.py build --size medium --out /tmp/corpus-medium
              python benchmarks/run.py --corpus /tmp/corpus-medium
            """
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="install the pinned packages and lay out a corpus")
    b.add_argument("--size", choices=SIZES, required=True, help="how big a corpus")
    b.add_argument("--out", type=Path, required=True, help="directory to build it in")
    b.add_argument(
        "--venv",
        type=Path,
        default=None,
        help="virtualenv for the Python packages (created if missing; default benchmarks/.venv)",
    )
    b.add_argument(
        "--no-install",
        action="store_true",
        help="use the existing virtualenv and node_modules; install nothing",
    )
    b.add_argument(
        "--no-corral",
        action="store_true",
        help="do not install this checkout's corral into the virtualenv",
    )
    i = sub.add_parser("info", help="print what a built corpus contains")
    i.add_argument("dir", type=Path, help="a corpus directory (with corpus.json)")
    args = parser.parse_args(argv)
    if args.command == "build":
        build(
            args.size,
            args.out,
            venv=args.venv,
            install=not args.no_install,
            with_corral=not args.no_corral,
        )
    else:
        print(summary(Corpus.load(args.dir)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
