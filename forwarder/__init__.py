"""ecs-stop-forwarder: classified ECS task stop records, delivered to Datadog and New Relic."""

__version__ = "0.1.0"
NAME = "ecs-stop-forwarder"

__all__ = ["NAME", "__version__"]
