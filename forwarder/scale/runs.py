"""The CLI's side of a replay on Step Functions: reading the deployed module, listing what a run
covers, starting or attaching to an execution, watching its Map Runs, changing their
concurrency, stopping or redriving it, and adding up its results.

An adapter over two injected clients (``stepfunctions`` and ``s3``: boto3's, or stubbed in
tests); every AWS error becomes a ``ForwarderError`` saying what could not be done.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from forwarder.errors import ConfigError, ForwarderError
from forwarder.scale.definition import SCHEMA

#: Execution statuses after which nothing more happens (until a redrive).
FINISHED = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
#: What a Map Run's counts are called, in the order they are shown.
COUNTS = ("succeeded", "failed", "running", "pending", "timedOut", "aborted", "total")
_YEAR = re.compile(r"\d{4}/")
_MODULE_FIELDS = ("archive_bucket", "archive_prefix", "results_bucket", "results_prefix")


class RunError(ForwarderError):
    """Step Functions or S3 refused a call a run needs."""


@dataclass(frozen=True)
class Module:
    """Where the deployed module's archive and results are: read from the definition's
    ``Configure`` state (``forwarder.scale.definition``), so the CLI needs only the ARN."""

    archive_bucket: str
    archive_prefix: str
    results_bucket: str
    results_prefix: str

    @classmethod
    def from_definition(cls, text: str, arn: str) -> Module:
        try:
            settings = json.loads(text)["States"]["Configure"]["Result"]
            found = cls(*(str(settings[name]) for name in _MODULE_FIELDS))
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"{arn} is not an ecs-stop-forwarder replay-at-scale state machine") from None
        if settings.get("schema") != SCHEMA:
            raise ConfigError(
                f"{arn} runs {settings.get('schema')!r}; this CLI starts {SCHEMA}: update one of them"
            )
        return found

    def run_prefix(self, run_id: str) -> str:
        return f"{self.results_prefix}{run_id}/"

    def control_key(self, run_id: str) -> str:
        return f"{self.run_prefix(run_id)}control.json"


@dataclass
class Totals:
    """A run's counts, added up from its Map Runs' results (the worker's answer for each batch,
    or its counts so far in a failed batch's error)."""

    batches: int = 0
    batches_failed: int = 0
    read: int = 0
    matched: int = 0
    duplicates: int = 0
    invalid: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)
    corrupt: list[dict[str, Any]] = field(default_factory=list)
    corrupt_count: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # failed batches, by error name

    def add(self, result: dict[str, Any]) -> None:
        self.read += _int(result.get("read"))
        self.matched += _int(result.get("matched"))
        self.duplicates += _int(result.get("duplicates_skipped"))
        self.invalid += _int(result.get("invalid"))
        self.sent.update({str(k): _int(v) for k, v in _dict(result.get("sent")).items()})
        self.failed.update({str(k): _int(v) for k, v in _dict(result.get("failed")).items()})
        self.corrupt_count += _int(result.get("corrupt_count"))
        corrupt = result.get("corrupt")
        self.corrupt.extend(c for c in (corrupt if isinstance(corrupt, list) else []) if isinstance(c, dict))

    def to_dict(self) -> dict[str, Any]:
        return {"batches": self.batches, "batches_failed": self.batches_failed, "read": self.read,
                "matched": self.matched, "duplicates_skipped": self.duplicates, "invalid": self.invalid,
                "sent": dict(self.sent), "failed": dict(self.failed), "corrupt": self.corrupt,
                "corrupt_count": self.corrupt_count, "batch_errors": dict(self.errors)}  # fmt: skip


class Runs:
    def __init__(self, sfn: Any, s3: Any) -> None:
        self.sfn = sfn
        self.s3 = s3

    # --- the module and the archive -----------------------------------------------------------
    def module(self, state_machine_arn: str) -> Module:
        answer = self._call("read the state machine", self.sfn.describe_state_machine,
                            stateMachineArn=state_machine_arn)  # fmt: skip
        return Module.from_definition(str(answer["definition"]), state_machine_arn)

    def hour_folder(self, bucket: str, prefix: str) -> tuple[str, list[str]] | None:
        """(the folder to list by hour, its year folders), or None when ``prefix`` is not laid out
        by hour: anything beside the year folders (an object, another folder) would be missed by
        listing hours, so the whole prefix is listed instead (as local replay decides)."""
        answer = self._call(f"list s3://{bucket}/{prefix}", self.s3.list_objects_v2, Bucket=bucket,
                            Prefix=prefix, Delimiter="/", MaxKeys=100)  # fmt: skip
        if answer.get("Contents"):
            return None
        folders = [str(p["Prefix"])[len(prefix) :] for p in answer.get("CommonPrefixes", [])]
        if folders == ["/"] and not prefix.endswith("/"):
            return self.hour_folder(bucket, prefix + "/")
        years = [folder for folder in folders if _YEAR.fullmatch(folder)]
        if years and all(folder in years or folder == "rejected/" for folder in folders):
            return prefix, years
        return None

    def sizes(self, bucket: str, prefix: str) -> list[int]:
        """The sizes of the first objects S3 lists under ``prefix`` (one page): a sample."""
        answer = self._call(f"list s3://{bucket}/{prefix}", self.s3.list_objects_v2, Bucket=bucket,
                            Prefix=prefix, MaxKeys=1000)  # fmt: skip
        return [int(item["Size"]) for item in answer.get("Contents", [])]

    # --- an execution -----------------------------------------------------------------------
    def describe(self, execution_arn: str) -> dict[str, Any] | None:
        try:
            answer: dict[str, Any] = self.sfn.describe_execution(executionArn=execution_arn)
        except ClientError as exc:
            if _code(exc) == "ExecutionDoesNotExist":
                return None
            raise RunError(f"cannot read the execution {execution_arn} ({_code(exc)})") from None
        except BotoCoreError as exc:
            raise RunError(f"cannot read the execution {execution_arn} ({type(exc).__name__})") from None
        return answer

    def start(self, state_machine_arn: str, name: str, document: dict[str, Any]) -> bool:
        """Start the execution ``name``; False when one by that name exists already (another
        terminal started it meanwhile): the caller attaches to it."""
        try:
            self.sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(document))
        except ClientError as exc:
            if _code(exc) == "ExecutionAlreadyExists":
                return False
            raise RunError(f"cannot start {name} ({_code(exc)}: {_message(exc)})") from None
        except BotoCoreError as exc:
            raise RunError(f"cannot start {name} ({type(exc).__name__})") from None
        return True

    def write_control(self, module: Module, run_id: str, max_concurrency: int) -> None:
        body = json.dumps({"max_concurrency": max_concurrency}).encode()
        key = module.control_key(run_id)
        bucket = module.results_bucket
        self._call(f"write s3://{bucket}/{key}", self.s3.put_object, Bucket=bucket, Key=key, Body=body,
                   ContentType="application/json")  # fmt: skip

    def stop(self, execution_arn: str) -> None:
        self._call("stop the execution", self.sfn.stop_execution, executionArn=execution_arn,
                   error="Stopped", cause="stopped from ecs-stop-forwarder replay --stop")  # fmt: skip

    def redrive(self, execution_arn: str) -> None:
        self._call("redrive the execution", self.sfn.redrive_execution, executionArn=execution_arn)

    # --- its Map Runs -----------------------------------------------------------------------
    def map_runs(self, execution_arn: str) -> list[dict[str, Any]]:
        """Each Map Run of the execution, described (oldest first)."""
        listed: list[dict[str, Any]] = []
        token = None
        while True:
            extra: dict[str, str] = {"nextToken": token} if token else {}
            page = self._call(
                "list the Map Runs", self.sfn.list_map_runs, executionArn=execution_arn, **extra
            )
            listed.extend(page.get("mapRuns", []))
            token = page.get("nextToken")
            if not token:
                break
        listed.sort(key=lambda run: run["startDate"])
        return [
            self._call("read a Map Run", self.sfn.describe_map_run, mapRunArn=run["mapRunArn"])
            for run in listed
        ]

    def update(self, map_run_arn: str, max_concurrency: int) -> None:
        self._call("change the Map Run's concurrency", self.sfn.update_map_run, mapRunArn=map_run_arn,
                   maxConcurrency=max_concurrency)  # fmt: skip

    # --- its results ------------------------------------------------------------------------
    def totals(self, module: Module, run_id: str) -> Totals:
        """The run's counts from every Map Run's results written so far (ResultWriter writes them
        when a Map Run ends)."""
        totals = Totals()
        bucket = module.results_bucket
        for manifest in self._keys(bucket, f"{module.run_prefix(run_id)}results/"):
            if not manifest.endswith("/manifest.json"):
                continue
            files = _dict(self._json(bucket, manifest).get("ResultFiles"))
            for status in ("SUCCEEDED", "FAILED"):
                for entry in files.get(status) or []:
                    for execution in self._json_list(bucket, str(entry["Key"])):
                        self._count(totals, execution)
        return totals

    def _count(self, totals: Totals, execution: dict[str, Any]) -> None:
        totals.batches += 1
        if execution.get("Status") == "SUCCEEDED":
            output = execution.get("Output")
            totals.add(_dict(json.loads(output) if isinstance(output, str) else output))
            return
        totals.batches_failed += 1
        totals.errors[str(execution.get("Error") or "unknown")] += 1
        totals.add(_cause(execution.get("Cause")))

    def _keys(self, bucket: str, prefix: str) -> Iterator[str]:
        token = None
        while True:
            extra: dict[str, str] = {"ContinuationToken": token} if token else {}
            page = self._call(f"list s3://{bucket}/{prefix}", self.s3.list_objects_v2, Bucket=bucket,
                              Prefix=prefix, **extra)  # fmt: skip
            yield from (str(item["Key"]) for item in page.get("Contents", []))
            token = page.get("NextContinuationToken")
            if not token:
                return

    def _json(self, bucket: str, key: str) -> dict[str, Any]:
        return _dict(self._read(bucket, key))

    def _json_list(self, bucket: str, key: str) -> list[dict[str, Any]]:
        value = self._read(bucket, key)
        return [item for item in (value if isinstance(value, list) else []) if isinstance(item, dict)]

    def _read(self, bucket: str, key: str) -> Any:
        answer = self._call(f"read s3://{bucket}/{key}", self.s3.get_object, Bucket=bucket, Key=key)
        try:
            return json.loads(answer["Body"].read())
        except ValueError:
            raise RunError(f"s3://{bucket}/{key} is not JSON") from None

    def _call(self, what: str, method: Any, **params: Any) -> Any:
        try:
            return method(**params)
        except ClientError as exc:
            raise RunError(f"cannot {what} ({_code(exc)}: {_message(exc)})") from None
        except BotoCoreError as exc:
            raise RunError(f"cannot {what} ({type(exc).__name__})") from None


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + ":" + name


def _cause(cause: Any) -> dict[str, Any]:
    """A failed batch's counts: the worker's error message (JSON, ``forwarder.errors.BatchError``)
    inside Lambda's error document inside the execution's cause."""
    try:
        lambda_error = json.loads(cause) if isinstance(cause, str) else {}
        message = json.loads(_dict(lambda_error).get("errorMessage") or "{}")
    except ValueError:
        return {}
    return _dict(_dict(message).get("result"))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "error"))


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))[:200]
