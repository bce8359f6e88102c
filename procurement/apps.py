from django.apps import AppConfig


class ProcurementConfig(AppConfig):
    """The workflow layer: every flow that crosses apps (no models of its own)."""

    name = "procurement"
    verbose_name = "Procurement workflow"
