"""Shared pytest fixtures: loopback vendor intakes, the local AWS emulator and a fault proxy in front of it."""

from tests.aws import aws, moto_server
from tests.intakes import datadog_intake, newrelic_intake
from tests.s3_faults import s3_faults

__all__ = ["aws", "datadog_intake", "moto_server", "newrelic_intake", "s3_faults"]
