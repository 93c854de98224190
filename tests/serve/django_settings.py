"""A minimal Django project serving the test root through CorralMiddleware."""

from __future__ import annotations

import os

SECRET_KEY = "corral-serving-tests"
DEBUG = os.environ.get("CORRAL_TEST_DEBUG") == "1"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "django_urls"
INSTALLED_APPS = ["django.contrib.staticfiles"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "corral.contrib.django.middleware.CorralMiddleware",
]
STATIC_URL = "static/"
STATIC_ROOT = os.environ["CORRAL_TEST_ROOT"]
STATICFILES_DIRS = [p for p in [os.environ.get("CORRAL_TEST_SOURCES")] if p]
USE_TZ = True
