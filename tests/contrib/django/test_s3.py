"""corral.contrib.django.s3: ``collectstatic`` publishes to a real S3 server (moto_server),
and ``{% static %}`` returns the CDN URL of the hashed name, on a machine that never built."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.files.storage import storages as django_storages
from django.templatetags.static import static

from corral.targets.location import build_dir
from tests.targets.conftest import aws_env, moto_url, proxy, s3  # noqa: F401 - fixtures
from tests.targets.faultproxy import FaultProxy
from tests.targets.helpers import FILES, TARGET, body, check_manifest_objects, get

from .conftest import Project, reset_caches, storages

BACKEND = "corral.contrib.django.s3.CorralS3Storage"


def _configure(project: Project, endpoint: str) -> None:
    project.configure(
        STORAGES=storages(
            BACKEND,
            bucket_name=TARGET.split("/")[2],
            location="static",
            custom_domain="cdn.example.com",
            endpoint_url=endpoint,
            s3={"concurrency": 4},
        )
    )


def test_collectstatic_publishes_to_the_bucket_and_static_gives_cdn_urls(
    django_project: Project,
    s3: Any,  # noqa: F811 - the fixture imported above
    proxy: FaultProxy,  # noqa: F811
) -> None:
    django_project.write(FILES)
    _configure(django_project, proxy.url)
    run = django_project.collectstatic()
    assert "static files copied" in run.stdout
    assert check_manifest_objects(s3) > len(FILES)
    hashed = json.loads(body(s3, "staticfiles.json"))["paths"]["css/app.css"]
    assert get(s3, hashed)["CacheControl"] == "public, max-age=31536000, immutable"
    assert static("css/app.css") == f"https://cdn.example.com/static/{hashed}"
    assert not (Path(django_project.settings["STATIC_ROOT"])).exists()  # not STATIC_ROOT

    # a web server that never built: the manifest comes from the bucket, once
    shutil.rmtree(build_dir(TARGET))
    django_storages._storages.pop("staticfiles", None)  # a new process: a new storage instance
    reset_caches()
    proxy.clear()
    assert static("css/app.css") == f"https://cdn.example.com/static/{hashed}"
    assert static("js/app.js").startswith("https://cdn.example.com/static/js/app.")
    assert [s.key for s in proxy.log] == ["static/staticfiles.json"]
    assert staticfiles_storage.url("robots.txt").endswith(".txt")

    # nothing changed: collectstatic uploads nothing
    proxy.clear()
    django_project.collectstatic()
    assert not [s for s in proxy.log if s.method in ("PUT", "POST", "DELETE")]


def test_collectstatic_dry_run_shows_the_bucket_plan_and_writes_nothing(
    django_project: Project,
    s3: Any,  # noqa: F811
    proxy: FaultProxy,  # noqa: F811
) -> None:
    django_project.write(FILES)
    _configure(django_project, proxy.url)
    plan = django_project.collectstatic(dry_run=True)
    assert "Dry run, nothing written. Plan for s3://corral-test/static:" in plan.stdout
    assert "Would upload 'staticfiles.json'" in plan.stdout
    assert "Would upload 'css/app.css'" in plan.stdout
    assert "Pretending to copy" not in plan.stdout  # the bucket's plan, not the build's
    assert not [s for s in proxy.log if s.method in ("PUT", "POST", "DELETE")]

    django_project.collectstatic()
    (django_project.base / "assets" / "robots.txt").write_text("User-agent: changed\n")
    proxy.clear()
    plan = django_project.collectstatic(dry_run=True)
    upload = sorted(
        line.split("'")[1] for line in plan.stdout.splitlines() if line.startswith("Would upload")
    )
    hashed = [u for u in upload if u.startswith("robots.") and u != "robots.txt"]
    assert upload == sorted(["corral-manifest.json", "robots.txt", "staticfiles.json", *hashed])
    assert len(hashed) == 1  # the new hashed copy; nothing else changed
    assert f"{len(upload)} to upload" in plan.stdout and "0 to prune" in plan.stdout
    assert not [s for s in proxy.log if s.method in ("PUT", "POST", "DELETE")]
