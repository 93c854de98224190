"""Tests of corral.contrib: the framework integrations."""
