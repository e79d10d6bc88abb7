"""Offline tests of the Terraform under infra/ (fmt, validate, terraform test, checkov, moto apply)."""
