"""Shared pytest fixtures: loopback vendor intakes and the local AWS emulator."""

from tests.aws import aws, moto_server
from tests.intakes import datadog_intake, newrelic_intake

__all__ = ["aws", "datadog_intake", "moto_server", "newrelic_intake"]
