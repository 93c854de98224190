"""corral's own share of a LIST: parse 30 ListObjectsV2 pages of 1,000 keys each (a medium
release's bucket) with the code corral's S3 client runs on each page, and print the CPU time.

A no-change run that LISTs took 26 s against moto_server and 2.3 s against SeaweedFS with
the same corral code; this isolates what corral itself spends on the pages (no network, no
server)::

    python benchmarks/s3/listparse.py
"""

from __future__ import annotations

import time
from urllib.parse import unquote_plus

from corral.targets.s3http import _local, _text, _xml

PAGES, KEYS = 30, 1000


def _page(number: int) -> bytes:
    items = "".join(
        f"<Contents><Key>static/vendor/pkg{number}/dist/some/path/file{i}.3f2a9c1b7e4d.min.js.br"
        "</Key><LastModified>2026-12-07T22:00:00.000Z</LastModified>"
        "<ETag>&quot;0123456789abcdef0123456789abcdef&quot;</ETag>"
        f"<Size>{1000 + i}</Size><StorageClass>STANDARD</StorageClass></Contents>"
        for i in range(KEYS)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<Name>bench</Name><Prefix>static/</Prefix><KeyCount>1000</KeyCount>"
        "<MaxKeys>1000</MaxKeys><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
        f"{items}<NextContinuationToken>t{number}</NextContinuationToken></ListBucketResult>"
    ).encode()


def main() -> None:
    pages = [_page(n) for n in range(PAGES)]
    start = time.process_time()
    keys = 0
    for body in pages:  # what HttpStore.list does with each page
        root = _xml(body)
        assert root is not None
        decode = _text(root, "EncodingType") == "url"
        for item in root:
            if _local(item.tag) != "Contents":
                continue
            key, size = _text(item, "Key"), _text(item, "Size")
            _ = (unquote_plus(key) if decode else key, int(size), _text(item, "ETag"))
            keys += 1
    seconds = time.process_time() - start
    print(f"{keys:,} keys in {PAGES} pages ({len(pages[0]):,} bytes each): {seconds:.3f} CPU s")


if __name__ == "__main__":
    main()
