"""Tests of corral.contrib.django."""
