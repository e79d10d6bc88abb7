"""New Relic alerts through NerdGraph (GraphQL over httpx): policies, NRQL static conditions, workflows.

Every call is ``POST <graphql url>`` with the user key in ``API-Key`` and the inputs as GraphQL
variables (never spliced into the query text). A non-2xx answer, a GraphQL ``errors`` array or a
workflow mutation's own ``errors`` list all become ``AlertsError``; the key never appears in one.
Lists are read to the end through ``nextCursor``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from forwarder.alerts import AlertsError, describe_error, redact

GRAPHQL_URLS = {"US": "https://api.newrelic.com/graphql", "EU": "https://api.eu.newrelic.com/graphql"}
TIMEOUT = httpx.Timeout(20.0, connect=3.0)
MAX_PAGES = 50

_CONDITION_FIELDS = """
  id name description enabled policyId type violationTimeLimitSeconds
  nrql { query }
  signal {
    aggregationWindow aggregationMethod aggregationDelay aggregationTimer fillOption fillValue slideBy
  }
  terms { priority operator threshold thresholdDuration thresholdOccurrences }
  expiration { expirationDuration openViolationOnExpiration closeViolationsOnExpiration }
"""
_WORKFLOW_FIELDS = """
  id name workflowEnabled destinationsEnabled mutingRulesHandling
  destinationConfigurations { channelId name type notificationTriggers }
  issuesFilter { id name type predicates { attribute operator values } }
"""

FIND_POLICIES = """
query($accountId: Int!, $criteria: AlertsPoliciesSearchCriteriaInput!, $cursor: String) {
  actor { account(id: $accountId) { alerts {
    policiesSearch(searchCriteria: $criteria, cursor: $cursor) {
      nextCursor policies { id name incidentPreference }
    } } } } }"""
LIST_CONDITIONS = (
    """
query($accountId: Int!, $criteria: AlertsNrqlConditionsSearchCriteriaInput!, $cursor: String) {
  actor { account(id: $accountId) { alerts {
    nrqlConditionsSearch(searchCriteria: $criteria, cursor: $cursor) {
      nextCursor nrqlConditions {"""
    + _CONDITION_FIELDS
    + "} } } } } }"
)
FIND_WORKFLOWS = (
    """
query($accountId: Int!, $filters: AiWorkflowsFilters!, $cursor: String) {
  actor { account(id: $accountId) { aiWorkflows {
    workflows(filters: $filters, cursor: $cursor) {
      nextCursor entities {"""
    + _WORKFLOW_FIELDS
    + "} } } } } }"
)
FIND_CHANNEL = """
query($accountId: Int!, $filters: AiNotificationsChannelFilter!) {
  actor { account(id: $accountId) { aiNotifications {
    channels(filters: $filters) { entities { id name type active } }
  } } } }"""
CREATE_POLICY = """
mutation($accountId: Int!, $policy: AlertsPolicyInput!) {
  alertsPolicyCreate(accountId: $accountId, policy: $policy) { id name incidentPreference } }"""
UPDATE_POLICY = """
mutation($accountId: Int!, $id: ID!, $policy: AlertsPolicyUpdateInput!) {
  alertsPolicyUpdate(accountId: $accountId, id: $id, policy: $policy) { id name incidentPreference } }"""
CREATE_CONDITION = (
    """
mutation($accountId: Int!, $policyId: ID!, $condition: AlertsNrqlConditionStaticInput!) {
  alertsNrqlConditionStaticCreate(accountId: $accountId, policyId: $policyId, condition: $condition) {"""
    + _CONDITION_FIELDS
    + "} }"
)
UPDATE_CONDITION = (
    """
mutation($accountId: Int!, $id: ID!, $condition: AlertsNrqlConditionUpdateStaticInput!) {
  alertsNrqlConditionStaticUpdate(accountId: $accountId, id: $id, condition: $condition) {"""
    + _CONDITION_FIELDS
    + "} }"
)
CREATE_WORKFLOW = (
    """
mutation($accountId: Int!, $workflow: AiWorkflowsCreateWorkflowInput!) {
  aiWorkflowsCreateWorkflow(accountId: $accountId, createWorkflowData: $workflow) {
    errors { description type } workflow {"""
    + _WORKFLOW_FIELDS
    + "} } }"
)
UPDATE_WORKFLOW = (
    """
mutation($accountId: Int!, $workflow: AiWorkflowsUpdateWorkflowInput!) {
  aiWorkflowsUpdateWorkflow(accountId: $accountId, updateWorkflowData: $workflow,
                            deleteUnusedChannels: false) {
    errors { description type } workflow {"""
    + _WORKFLOW_FIELDS
    + "} } }"
)


class NerdGraph:
    """One New Relic account's alerts, through the NerdGraph endpoint at ``url``."""

    vendor = "New Relic NerdGraph"

    def __init__(
        self, user_key: str, account_id: int, url: str, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._key = user_key
        self.account_id = account_id
        self.url = url
        self._client = httpx.Client(timeout=TIMEOUT, transport=transport)

    # -- reads -----------------------------------------------------------------------------------
    def find_policies(self, name: str) -> list[dict[str, Any]]:
        """Policies named exactly ``name`` (the search may also match others: filtered here)."""
        criteria = {"criteria": {"name": name}}
        found = self._pages(FIND_POLICIES, criteria, ("alerts", "policiesSearch"), "policies")
        return [policy for policy in found if policy.get("name") == name]

    def list_conditions(self, policy_id: str) -> list[dict[str, Any]]:
        path = ("alerts", "nrqlConditionsSearch")
        return self._pages(LIST_CONDITIONS, {"criteria": {"policyId": policy_id}}, path, "nrqlConditions")

    def find_workflows(self, **filters: str) -> list[dict[str, Any]]:
        """Workflows matching ``AiWorkflowsFilters`` such as ``name=`` or ``channelId=``."""
        found = self._pages(FIND_WORKFLOWS, {"filters": filters}, ("aiWorkflows", "workflows"), "entities")
        if "name" in filters:
            found = [workflow for workflow in found if workflow.get("name") == filters["name"]]
        return found

    def find_channel(self, channel_id: str) -> dict[str, Any] | None:
        data = self._query(FIND_CHANNEL, {"filters": {"id": channel_id}})
        entities = _dig(data, ("actor", "account", "aiNotifications", "channels", "entities"))
        return next((entity for entity in entities or [] if entity.get("id") == channel_id), None)

    # -- writes ----------------------------------------------------------------------------------
    def create_policy(self, policy: Mapping[str, Any]) -> dict[str, Any]:
        return self._mutate(CREATE_POLICY, {"policy": dict(policy)}, "alertsPolicyCreate")

    def update_policy(self, policy_id: str, policy: Mapping[str, Any]) -> dict[str, Any]:
        changes = {"incidentPreference": policy["incidentPreference"]}
        return self._mutate(UPDATE_POLICY, {"id": policy_id, "policy": changes}, "alertsPolicyUpdate")

    def create_condition(self, policy_id: str, condition: Mapping[str, Any]) -> dict[str, Any]:
        variables = {"policyId": policy_id, "condition": dict(condition)}
        return self._mutate(CREATE_CONDITION, variables, "alertsNrqlConditionStaticCreate")

    def update_condition(self, condition_id: str, condition: Mapping[str, Any]) -> dict[str, Any]:
        variables = {"id": condition_id, "condition": dict(condition)}
        return self._mutate(UPDATE_CONDITION, variables, "alertsNrqlConditionStaticUpdate")

    def create_workflow(self, workflow: Mapping[str, Any]) -> dict[str, Any]:
        answer = self._mutate(CREATE_WORKFLOW, {"workflow": dict(workflow)}, "aiWorkflowsCreateWorkflow")
        return self._workflow_of(answer)

    def update_workflow(
        self, workflow_id: str, filter_id: str, workflow: Mapping[str, Any]
    ) -> dict[str, Any]:
        data = {key: value for key, value in workflow.items() if key != "issuesFilter"}
        data["id"] = workflow_id
        data["issuesFilter"] = {"id": filter_id, "filterInput": workflow["issuesFilter"]}
        answer = self._mutate(UPDATE_WORKFLOW, {"workflow": data}, "aiWorkflowsUpdateWorkflow")
        return self._workflow_of(answer)

    def close(self) -> None:
        self._client.close()

    # -- transport -------------------------------------------------------------------------------
    def _workflow_of(self, answer: dict[str, Any]) -> dict[str, Any]:
        errors = answer.get("errors") or []
        if errors or not answer.get("workflow"):
            said = (
                "; ".join(f"{e.get('type')}: {e.get('description')}" for e in errors)
                or "no workflow returned"
            )
            raise AlertsError(redact(f"{self.vendor} refused the workflow: {said}", [self._key]))
        return dict(answer["workflow"])

    def _pages(
        self, query: str, variables: dict[str, Any], path: tuple[str, str], items: str
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            data = self._query(query, {**variables, "cursor": cursor})
            page = _dig(data, ("actor", "account", *path)) or {}
            found.extend(page.get(items) or [])
            cursor = page.get("nextCursor")
            if not cursor:
                return found
        raise AlertsError(f"{self.vendor}: more than {MAX_PAGES} pages of {items}; giving up")

    def _mutate(self, query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
        result = self._query(query, variables).get(field)
        if not isinstance(result, dict):
            raise AlertsError(f"{self.vendor}: {field} returned nothing")
        return result

    def _query(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        payload = {"query": query, "variables": {"accountId": self.account_id, **variables}}
        headers = {"API-Key": self._key, "Content-Type": "application/json"}
        try:
            response = self._client.post(self.url, json=payload, headers=headers)
        except httpx.TimeoutException as exc:
            raise AlertsError(f"{self.vendor} timed out at {self.url}: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise AlertsError(f"{self.vendor} unreachable at {self.url}: {type(exc).__name__}") from None
        if not response.is_success:
            status = response.status_code
            raise AlertsError(describe_error(self.vendor, status, response.text, [self._key]), status)
        try:
            answer = response.json()
        except ValueError:
            raise AlertsError(f"{self.vendor} answered with something that is not JSON") from None
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if errors:
            said = "; ".join(str(error.get("message", error)) for error in errors if isinstance(error, dict))
            raise AlertsError(redact(f"{self.vendor} error: {said or errors}", [self._key]))
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict):
            raise AlertsError(f"{self.vendor} answered without data")
        return data


def _dig(data: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        if not isinstance(data, dict):
            return None
        data = data.get(name)
    return data
