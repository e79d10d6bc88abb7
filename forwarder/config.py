"""Configuration read from the environment — only entry points call this module."""

from __future__ import annotations

#: Every environment variable the forwarder reads. infra/ tests compare the Lambda
#: module's environment block against this set.
ENV_VARS: frozenset[str] = frozenset(
    {
        "FORWARDER_DESTINATIONS",
        "FORWARDER_MIN_SEVERITY",
        "FORWARDER_EXCLUDE_CATEGORIES",
        "ARCHIVE_BUCKET",
        "ARCHIVE_PREFIX",
        "ARCHIVE_KMS_KEY_ID",
        "DD_API_KEY",
        "DD_API_KEY_SECRET_ARN",
        "DD_API_KEY_SSM_PARAMETER",
        "DD_SITE",
        "DD_TAGS",
        "DD_SOURCE",
        "DD_LOGS_URL",
        "NEW_RELIC_LICENSE_KEY",
        "NEW_RELIC_LICENSE_KEY_SECRET_ARN",
        "NEW_RELIC_LICENSE_KEY_SSM_PARAMETER",
        "NEW_RELIC_REGION",
        "NEW_RELIC_LOGS_URL",
    }
)

#: Variables that carry a key in plain text. The Terraform module never sets them:
#: keys are referenced by secret ARN or SSM parameter name only.
PLAINTEXT_KEY_VARS: frozenset[str] = frozenset({"DD_API_KEY", "NEW_RELIC_LICENSE_KEY"})
