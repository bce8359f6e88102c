from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo story (江州市): installed only when DEBUG or AGORA_DEMO is set."""

    name = "demo"
    verbose_name = "Demo data"
