"""Shared pytest fixtures: loopback vendor intakes (tests/intakes.py)."""

from tests.intakes import datadog_intake, newrelic_intake

__all__ = ["datadog_intake", "newrelic_intake"]
