"""The example site's URLs: the home page and the admin."""

from django.contrib import admin
from django.urls import path
from pages.views import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
]
