"""Content-hashed names for collected files, with references rewritten to point at them.

A pure engine: :func:`fingerprint` gets what the pipeline knows of each file
(:class:`FileFacts`), a ``read`` callable for source bytes, the previous run's
outcome and the options; it returns a :class:`Fingerprint` per file, the new
bytes of rewritten files and every problem found. It writes nothing::

    result = fingerprint(files, read, previous, FingerprintOptions(url="/static/"))
    if result.problems:
        raise BuildError(result.problems)
    django_manifest(result.fingerprints)            # staticfiles.json bytes
    corral_manifest(result.fingerprints, url="/static/", release="42")

Names
    Django's: ``name.<first 12 hex of MD5>.ext`` (:mod:`.names`). A file whose
    references are rewritten is named by the MD5 of its *rewritten* bytes, so
    a changed image renames the CSS using it and the CSS importing that CSS.

Which files and references
    ``.css``, ``.js``, ``.mjs``, ``.cjs`` and ``.map`` files (any case) are
    scanned by the tokenizers of :mod:`corral.references`: CSS ``url()``,
    ``@import``, ``image-set()`` strings and ``sourceMappingURL``; JS
    ``sourceMappingURL`` and, with ``modules`` (the default), ES module
    specifiers and literal ``import()``; a source map's ``file``. References
    inside comments, strings, template literals and regex literals are text.
    What a reference names and what is skipped (``data:``, ``#x``, schemes,
    ``//host``, absolute URLs outside ``url``, bare specifiers) is in
    :mod:`.urls`. CSS and JS files are rewritten; source maps and
    pass-through files are only checked.

Order
    References form a graph; its strongly connected components are processed
    dependencies first (:mod:`.graph`). For an acyclic graph every name is
    therefore Django's fixpoint (MD5 of the content rewritten with the final
    names of its dependencies), reached in one pass instead of up to six.

Cycles
    A component with several files, or one file referencing itself, is named
    as a group, deterministically and in one pass:

    1. each member (sorted by logical path) is rendered with its references
       to files *outside* the group rewritten and those inside left as written;
    2. the group digest is the SHA-256 of ``b"corral-cycle-1\\0"`` followed,
       per member in that order, by ``path \\0 len(bytes) \\0 bytes``;
    3. each member's name hash is the first 12 hex digits of
       ``MD5(group_digest + "\\0" + logical_path)``, giving
       ``name.<hash>.ext``;
    4. every member is rendered again with all its references rewritten,
       inside ones to those names; these bytes are published.

    A member's name does not hash its own final bytes (no fixpoint exists),
    but those bytes are a function of what the digest covers, so a name never
    stands for two different contents. A change in any member, or in any file
    outside the group that a member references, renames every member.
    The result does not depend on input order. ``result.cycles`` lists them.

Missing references
    A reference resolving to a file that is not collected (or climbing out
    of the root) is collected with file, line, column, reference and resolved
    path, all in one run. ``missing`` sets a policy per kind: ``"error"``
    (default for ``url``, ``import``, ``image-set``, ``module``,
    ``dynamic-import``) goes to ``result.problems``; ``"warn"`` (default for
    ``sourcemap`` and ``sourcemap-file``) to ``result.warnings``; ``"ignore"``
    drops it. A resolved path matching an ``accept_missing`` glob is accepted
    silently. In every case the reference is left as written. Each problem's
    hint names the exact ``accept_missing`` entry and the ``missing.<kind>``
    key. A CSS/JS file that is not UTF-8 is a ``not-utf8`` problem naming its
    line and column (a warning for a source map or pass-through file, which
    are only checked); the file is then copied as is.

Source maps' ``file``
    Checked (a missing target warns) but never rewritten: the field is
    informational (browsers resolve nothing with it), the unhashed file it
    names is still published, and rewriting it would make every minified
    script and its map a cycle, losing Django's names for both.

Pass-through
    A file matching a ``passthrough`` pattern (default: Vite/Rollup/esbuild
    ``name-[hash].js``, see :data:`DEFAULT_PASSTHROUGH` for its false
    positives and negatives) keeps its name, and its bytes: its references are
    resolved and missing ones reported, but not rewritten. A file whose name
    stays must not change with other files' names, or a cached-forever URL
    would serve stale content; a bundler's output already references its
    own hashed chunks. Other files' references to it are left as they are.

Incremental runs
    :attr:`Fingerprint.inputs` is ``"<own>:<links>"``: ``own`` hashes
    :data:`ENGINE_VERSION`, the path, the source digest and the options that
    shape the output; ``links`` the hashed name (or absence) of every file
    it references. With ``previous``, a file whose ``own`` is unchanged is not
    read to plan the graph (its references are the ones recorded); a file
    whose whole key is unchanged is reused without reading. A change thus
    re-processes that file and whatever references it, transitively, and
    nothing else. Copied files need an MD5 and SRI: from :class:`FileFacts`,
    else from the previous record if the digest matches, else by reading.
    Missing references of reused files are reported again, by the current
    policy.

Deliberate differences from Django 5.2's ManifestStaticFilesStorage
    For every input Django handles correctly the names and bytes are
    Django's (``tests/fingerprint/test_django_*.py`` compare with real
    Django). Elsewhere:

    * references inside comments and strings are not references (Django
      rewrites them, ticket #21080, and dies when they name no file: TinyMCE);
    * cycles and long chains work (Django stops after 5 passes: "Max
      post-process passes exceeded"; Popper's 13-deep ESM chain hits it);
    * a missing source map warns (Django dies, #33353); every missing
      reference is reported at once, naming the referencing file;
    * schemes in any case are skipped (Django: only ``[a-z]+:``), and bare
      specifiers in ``import("x")`` (Django resolves them as paths and dies);
    * also rewritten: ``image-set()`` strings, ``.mjs``/``.cjs`` files and
      upper-case suffixes (``APP.CSS``), sourceMappingURL comments not at a
      line start, imports without ``;``, ``url(`` with a newline before ``)``;
    * a reference to a rewritten CSS/JS file whose URL carries a query string
      or blanks (``url( x.css )``, ``/*# sourceMappingURL=x.css */``) gets
      that file's final name (Django misses its lookup and names it by the
      original bytes: a file it never writes);
    * ``url("x"   )`` and ``url(  'x')`` work (Django's regex takes the quote
      into the path and dies);
    * with ``modules``, ``import "x";`` followed by ``export ... from`` is
      rewritten once (Django's regexes rewrite the second specifier twice);
    * file names are taken literally (Django unquotes them: see :mod:`.names`);
      queries and fragments keep their percent-escapes (:mod:`.urls`);
    * a ``//# sourceMappingURL`` line keeps its ``\\r`` (Django drops it);
      a CSS source map comment with a query or fragment gets one blank
      before ``*/`` (Django two);
    * a hashed name that is also another file's path is a
      ``hashed-name-clash`` problem (both would be published at one path).
"""

from __future__ import annotations

from corral.fingerprint.engine import ENGINE_VERSION, fingerprint
from corral.fingerprint.manifest import content_type, corral_manifest, django_manifest
from corral.fingerprint.model import FileFacts, Fingerprint, FingerprintResult, Missing, Rewrite
from corral.fingerprint.names import hashed_name
from corral.fingerprint.options import (
    DEFAULT_MISSING,
    DEFAULT_PASSTHROUGH,
    FingerprintOptions,
    Policy,
)
from corral.resolver import Resolver  # its home since the import-light reader

__all__ = [
    "DEFAULT_MISSING",
    "DEFAULT_PASSTHROUGH",
    "ENGINE_VERSION",
    "FileFacts",
    "Fingerprint",
    "FingerprintOptions",
    "FingerprintResult",
    "Missing",
    "Policy",
    "Resolver",
    "Rewrite",
    "content_type",
    "corral_manifest",
    "django_manifest",
    "fingerprint",
    "hashed_name",
]
